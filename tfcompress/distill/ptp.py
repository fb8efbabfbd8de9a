"""Pretraining with Teacher's Predictions (Pea-KD §3.3): labels from the teacher's behaviour."""

import numpy as np

from tfcompress.errors import ConfigError

PTP_LABEL_NAMES = {
    # 2·correct + confident
    "ptp": ("wrong_unconfident", "wrong_confident", "correct_unconfident", "correct_confident"),
    "ptp1": ("wrong", "correct"),
    "ptp2": ("unconfident", "confident"),
}


def ptp_labels(teacher_logits, labels, threshold=0.8, variant="ptp"):
    """Per-example PTP classes from teacher logits [N, C] and gold labels [N].

    correct = teacher argmax equals the label; confident = max softmax ≥ threshold.
    PTP uses both (4 classes), PTP-1 only correctness, PTP-2 only confidence.
    """
    if variant not in PTP_LABEL_NAMES:
        raise ConfigError(
            f"ptp.variant: {variant!r} unknown; use one of {', '.join(PTP_LABEL_NAMES)}"
        )
    if not 0.5 <= threshold < 1.0:
        raise ConfigError(f"ptp.threshold: must be in [0.5, 1), got {threshold}")
    logits = np.asarray(teacher_logits, dtype=np.float64)
    probs = np.exp(logits - logits.max(-1, keepdims=True))
    probs /= probs.sum(-1, keepdims=True)
    correct = (probs.argmax(-1) == np.asarray(labels)).astype(np.int32)
    confident = (probs.max(-1) >= threshold).astype(np.int32)
    return {"ptp": 2 * correct + confident, "ptp1": correct, "ptp2": confident}[variant]
