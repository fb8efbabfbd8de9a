"""Run as a script: the distillation cases of strategy_cases.py on one device and under
MirroredStrategy with two logical CPU devices; prints one JSON report. A separate process is
needed because logical devices must be configured before TensorFlow initializes.

    python tests/distill/mirrored_check.py [seed]

Per case: the largest weight difference, the largest weight (float32 spacing at 1.0 is
1.2e-7), the per-epoch losses, and (with clipping) the smallest global gradient norm over the
batches at the start and end of training, so a reader can check clipping was active.
"""

import json
import os
import sys

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import tensorflow as tf  # noqa: E402

cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from strategy_cases import compare_cases  # noqa: E402

seed = int(sys.argv[1]) if len(sys.argv) > 1 else 0
# One MirroredStrategy for every case: a second instance in one process reuses collective
# instance keys and fails with a shape mismatch.
strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
report = {"seed": seed, "replicas": strategy.num_replicas_in_sync}
report["cases"] = compare_cases(strategy, seed)
print(json.dumps(report))
