"""Run as a script: the same distillation on one device and under MirroredStrategy with two
logical CPU devices, in several cases; prints one JSON report. A separate process is needed
because logical devices must be configured before TensorFlow initializes.

    python tests/distill/mirrored_check.py [seed]

Cases (each trains 2 epochs of SGD on 29 examples in batches of 8, so the last batch of 5
splits 3/2 over the replicas, and rows have different real lengths):
  classifier_clipped  sequence classifier, all five loss terms, a clip norm small enough to be
                      active on every step (the distiller clips the cross-replica sum)
  tagger_unclipped    token tagger (token-level CE and soft targets over real tokens), hidden,
                      attention and embedding losses, no clipping
For each: the largest weight difference, the largest weight (float32 spacing at 1.0 is 1.2e-7), the
per-epoch losses, and (with clipping) the smallest global gradient norm over the batches at the
start and end of training, so a reader can check clipping was active on every step.
"""

import json
import os
import sys

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import tensorflow as tf  # noqa: E402

cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)

import keras  # noqa: E402
import numpy as np  # noqa: E402

from tfcompress.distill import DistillationConfig, Distiller, teacher_targets  # noqa: E402
from tfcompress.models import Encoder, EncoderConfig, build_classifier, build_tagger  # noqa: E402

SEED = int(sys.argv[1]) if len(sys.argv) > 1 else 0
EXAMPLES, BATCH, LENGTH = 29, 8, 8
LOSSES = DistillationConfig(
    ground_truth=1.0,
    soft_targets=1.0,
    hidden=1.0,
    attention=1.0,
    embedding=1.0,
    layer_map=[[1, 1]],
)
CASES = {
    "classifier_clipped": dict(tagger=False, clip=0.05),
    "tagger_unclipped": dict(tagger=True, clip=None),
}


def models(tagger):
    keras.utils.set_random_seed(SEED)
    base = dict(
        vocab_size=50,
        hidden_size=32,
        num_heads=4,
        intermediate_size=64,
        max_length=LENGTH,
        dropout=0.0,
        attention_dropout=0.0,
    )
    if tagger:
        build = lambda encoder: build_tagger(encoder, 3, dropout=0.0)  # noqa: E731
    else:
        build = lambda encoder: build_classifier(encoder, 2, dropout=0.0)  # noqa: E731
    teacher = build(Encoder(EncoderConfig(num_layers=2, **base)))
    student = build(Encoder(EncoderConfig(num_layers=1, **base)))
    return student, teacher


def examples(tagger):
    rng = np.random.default_rng(SEED)
    lengths = rng.integers(2, LENGTH + 1, EXAMPLES)
    mask = (np.arange(LENGTH)[None] < lengths[:, None]).astype("int32")
    x = {
        "token_ids": rng.integers(1, 50, (EXAMPLES, LENGTH)).astype("int32") * mask,
        "segment_ids": np.zeros((EXAMPLES, LENGTH), "int32"),
        "padding_mask": mask,
    }
    if tagger:
        y = np.where(mask == 1, rng.integers(0, 3, (EXAMPLES, LENGTH)), -1)
    else:
        y = rng.integers(0, 2, EXAMPLES)
    return x, y


def min_gradient_norm(distiller, tagger):
    """Smallest global gradient norm of the distiller's loss over the training batches."""
    x, y = examples(tagger)
    norms = []
    for start in range(0, EXAMPLES, BATCH):
        inputs = {k: v[start : start + BATCH] for k, v in x.items()}
        with tf.GradientTape() as tape:
            logits, features = distiller.student.forward_with_features(inputs, training=True)
            teacher = teacher_targets(distiller.teacher, inputs, with_intermediate=True)
            loss = distiller.compute_losses(
                logits, features, teacher, y[start : start + BATCH], inputs["padding_mask"]
            )["loss"]
        gradients = tape.gradient(loss, distiller.trainable_variables)
        gradients = [tf.convert_to_tensor(g) for g in gradients if g is not None]
        norms.append(float(tf.linalg.global_norm(gradients)))
    return min(norms)


def train(strategy, tagger, clip):
    with strategy.scope():
        student, teacher = models(tagger)
        distiller = Distiller(student, teacher, LOSSES, gradient_clip_norm=clip)
        distiller.compile(keras.optimizers.SGD(0.1))
    norm_before = min_gradient_norm(distiller, tagger) if clip else None
    data = tf.data.Dataset.from_tensor_slices(examples(tagger)).batch(BATCH)
    history = distiller.fit(data, epochs=2, verbose=0, shuffle=False).history
    norm_after = min_gradient_norm(distiller, tagger) if clip else None
    weights = [np.asarray(w) for w in student.weights]
    return weights, history["loss"], (norm_before, norm_after)


# One MirroredStrategy for every case: a second instance in one process reuses collective
# instance keys and fails with a shape mismatch.
mirrored_strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
report = {"seed": SEED, "replicas": mirrored_strategy.num_replicas_in_sync, "cases": {}}
for name, case in CASES.items():
    single, single_loss, norms = train(tf.distribute.get_strategy(), **case)
    mirrored, mirrored_loss, _ = train(mirrored_strategy, **case)
    report["cases"][name] = {
        "clip_norm": case["clip"],
        "max_weight_diff": max(
            float(np.abs(a - b).max()) for a, b in zip(single, mirrored, strict=True)
        ),
        "max_weight": max(float(np.abs(w).max()) for w in single),
        "loss_single": single_loss,
        "loss_mirrored": mirrored_loss,
        "min_gradient_norm": norms,
    }
print(json.dumps(report))
