"""The distillation runs that strategy checks compare: the same steps under a tf.distribute
strategy and on one device. Imported by mirrored_check.py and multi_worker_check.py after they
configure TensorFlow (logical devices, TF_CONFIG), never by pytest directly.

Each case trains 2 epochs of SGD on 29 examples in batches of 8 (the last batch of 5 splits
unevenly over two replicas), with rows of different real lengths:
  classifier_clipped  sequence classifier, all five loss terms, a clip norm small enough to be
                      active on every step (the distiller clips the cross-replica sum)
  tagger_unclipped    token tagger (token-level CE and soft targets over real tokens), hidden,
                      attention and embedding losses, no clipping
"""

import hashlib

import keras
import numpy as np
import tensorflow as tf

from tfcompress.distill import DistillationConfig, Distiller, teacher_targets
from tfcompress.models import Encoder, EncoderConfig, build_classifier, build_tagger

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


def models(tagger, seed):
    keras.utils.set_random_seed(seed)
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


def examples(tagger, seed):
    rng = np.random.default_rng(seed)
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


def min_gradient_norm(distiller, tagger, seed):
    """Smallest global gradient norm of the distiller's loss over the training batches."""
    x, y = examples(tagger, seed)
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


def train(strategy, tagger, clip, seed):
    """(student weights, per-epoch losses, min gradient norms before/after or None)."""
    with strategy.scope():
        student, teacher = models(tagger, seed)
        distiller = Distiller(student, teacher, LOSSES, gradient_clip_norm=clip)
        distiller.compile(keras.optimizers.SGD(0.1))
    norm_before = min_gradient_norm(distiller, tagger, seed) if clip else None
    data = tf.data.Dataset.from_tensor_slices(examples(tagger, seed)).batch(BATCH)
    history = distiller.fit(data, epochs=2, verbose=0, shuffle=False).history
    norm_after = min_gradient_norm(distiller, tagger, seed) if clip else None
    weights = [np.asarray(w) for w in student.weights]
    return weights, history["loss"], (norm_before, norm_after)


def compare_cases(strategy, seed, reference=True):
    """Every case under `strategy` and (if `reference`) on one device: a JSON-ready dict per
    case. `weights_sha256` identifies the distributed run's weights exactly, so workers of
    one run can show they hold the same model (only one of them needs the reference)."""
    report = {}
    for name, case in CASES.items():
        distributed, distributed_loss, _ = train(strategy, seed=seed, **case)
        digest = hashlib.sha256(b"".join(w.astype(np.float32).tobytes() for w in distributed))
        report[name] = {"loss_distributed": distributed_loss, "weights_sha256": digest.hexdigest()}
        if not reference:
            continue
        single, single_loss, norms = train(tf.distribute.get_strategy(), seed=seed, **case)
        report[name].update(
            clip_norm=case["clip"],
            max_weight_diff=max(
                float(np.abs(a - b).max()) for a, b in zip(single, distributed, strict=True)
            ),
            max_weight=max(float(np.abs(w).max()) for w in single),
            loss_single=single_loss,
            min_gradient_norm=norms,
        )
    return report
