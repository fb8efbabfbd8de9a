"""Run as a script: MultiWorkerMirroredStrategy, built by `make_strategy("multi_worker")`
before any other TensorFlow op (as `tfcompress distill` does), runs the distillation cases of
strategy_cases.py; prints one JSON report comparing them with the same steps on the default
strategy in the same process.

    python tests/distill/multi_worker_check.py none             # no TF_CONFIG: one local worker
    python tests/distill/multi_worker_check.py PORT             # TF_CONFIG: one worker
    python tests/distill/multi_worker_check.py PORT0,PORT1 I    # worker I of two (run both)

Workers listen on 127.0.0.1 only.

A separate process is needed because the strategy's collectives must be configured before
TensorFlow runs anything, and only once per process.
"""

import json
import os
import sys

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.pop("TF_CONFIG", None)
if sys.argv[1] != "none":
    ports = [int(p) for p in sys.argv[1].split(",")]
    os.environ["TF_CONFIG"] = json.dumps(
        {
            "cluster": {"worker": [f"127.0.0.1:{port}" for port in ports]},
            "task": {"type": "worker", "index": int(sys.argv[2]) if len(sys.argv) > 2 else 0},
        }
    )

from tfcompress.distill.strategies import make_strategy, worker_count  # noqa: E402

strategy = make_strategy("multi_worker")

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from strategy_cases import compare_cases  # noqa: E402

resolver = strategy.cluster_resolver
report = {
    "strategy": type(strategy).__name__,
    "replicas": strategy.num_replicas_in_sync,
    "workers": worker_count(strategy),  # what run_distill checks before PTP
    "cluster": resolver.cluster_spec().as_dict(),
    "task": [resolver.task_type, resolver.task_id],
    # Worker 0 (or the only one) also trains the one-device reference.
    "cases": compare_cases(strategy, seed=0, reference=not resolver.task_id),
}
print(json.dumps(report))
