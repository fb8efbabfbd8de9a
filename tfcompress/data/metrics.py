"""Evaluation metrics (thin wrappers over scikit-learn and seqeval, returning floats)."""

from collections.abc import Sequence

import numpy as np
from seqeval.metrics import classification_report as _seqeval_report
from seqeval.metrics import f1_score as _seqeval_f1
from sklearn import metrics as _sk


def accuracy(y_true, y_pred) -> float:
    return float(_sk.accuracy_score(np.asarray(y_true), np.asarray(y_pred)))


def f1(y_true, y_pred) -> float:
    """Binary F1 with class 1 positive (the GLUE MRPC/QQP convention); 0.0 if undefined.
    Any other label (-1: one the model has no output for) is a negative."""
    return float(_sk.f1_score(np.asarray(y_true) == 1, np.asarray(y_pred) == 1, zero_division=0))


def matthews_corrcoef(y_true, y_pred) -> float:
    return float(_sk.matthews_corrcoef(np.asarray(y_true), np.asarray(y_pred)))


def slot_f1(true_tags: Sequence[Sequence[str]], pred_tags: Sequence[Sequence[str]]) -> float:
    """CoNLL-style span micro F1 (seqeval default mode): a span counts only if exact."""
    return float(_seqeval_f1([list(t) for t in true_tags], [list(p) for p in pred_tags]))


def slot_f1_by_type(
    true_tags: Sequence[Sequence[str]], pred_tags: Sequence[Sequence[str]]
) -> dict[str, dict[str, float]]:
    """{slot: {"f1", "precision", "recall", "support"}} per slot type, CoNLL spans as in
    `slot_f1` (whose micro average over all types this breaks down)."""
    report = _seqeval_report(
        [list(t) for t in true_tags],
        [list(p) for p in pred_tags],
        output_dict=True,
        zero_division=0,
    )
    return {
        slot: {
            "f1": float(scores["f1-score"]),
            "precision": float(scores["precision"]),
            "recall": float(scores["recall"]),
            "support": int(scores["support"]),
        }
        for slot, scores in report.items()
        if not slot.endswith(" avg")
    }


_CLASSIFICATION_METRICS = {"accuracy": accuracy, "f1": f1, "mcc": matthews_corrcoef}
CLASSIFICATION_METRIC_NAMES = tuple(_CLASSIFICATION_METRICS)


def classification_metrics(task_metric_names: Sequence[str], y_true, y_pred) -> dict[str, float]:
    """{name: value} for names among "accuracy", "f1", "mcc" (see GLUE_TASKS[...].metric_names)."""
    unknown = [n for n in task_metric_names if n not in _CLASSIFICATION_METRICS]
    if unknown:
        raise ValueError(
            f"unknown metric(s) {unknown}; supported: {sorted(_CLASSIFICATION_METRICS)}"
        )
    return {name: _CLASSIFICATION_METRICS[name](y_true, y_pred) for name in task_metric_names}
