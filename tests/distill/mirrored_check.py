"""Run as a script: the same distillation on one device and under MirroredStrategy with two
logical CPU devices; prints the largest weight difference as JSON. A separate process is
needed because logical devices must be configured before TensorFlow initializes."""

import json
import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import tensorflow as tf  # noqa: E402

cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)

import keras  # noqa: E402
import numpy as np  # noqa: E402

from tfcompress.distill import DistillationConfig, Distiller  # noqa: E402
from tfcompress.models import Encoder, EncoderConfig, build_classifier  # noqa: E402


def models():
    keras.utils.set_random_seed(0)
    base = dict(
        vocab_size=50,
        hidden_size=32,
        num_heads=4,
        intermediate_size=64,
        max_length=8,
        dropout=0.0,
        attention_dropout=0.0,
    )
    teacher = build_classifier(Encoder(EncoderConfig(num_layers=2, **base)), 2, dropout=0.0)
    student = build_classifier(Encoder(EncoderConfig(num_layers=1, **base)), 2, dropout=0.0)
    return student, teacher


def data():
    rng = np.random.default_rng(0)
    x = {
        "token_ids": rng.integers(1, 50, (32, 8)).astype("int32"),
        "segment_ids": np.zeros((32, 8), "int32"),
        "padding_mask": np.ones((32, 8), "int32"),
    }
    return tf.data.Dataset.from_tensor_slices((x, rng.integers(0, 2, 32))).batch(8)


def train(strategy):
    weights = None
    with strategy.scope():
        student, teacher = models()
        # A small clip norm so clipping is active on every step.
        distiller = Distiller(
            student,
            teacher,
            DistillationConfig(hidden=1.0, layer_map=[[1, 1]]),
            gradient_clip_norm=0.05,
        )
        distiller.compile(keras.optimizers.SGD(0.1))
    history = distiller.fit(data(), epochs=2, verbose=0, shuffle=False).history
    weights = [np.asarray(w) for w in student.weights]
    return weights, history["loss"], strategy.num_replicas_in_sync


single, single_loss, _ = train(tf.distribute.get_strategy())
mirrored, mirrored_loss, replicas = train(tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"]))
print(
    json.dumps(
        {
            "replicas": replicas,
            "max_weight_diff": max(float(np.abs(a - b).max()) for a, b in zip(single, mirrored)),
            "loss_single": single_loss,
            "loss_mirrored": mirrored_loss,
        }
    )
)
