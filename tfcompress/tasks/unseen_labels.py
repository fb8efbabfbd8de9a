"""Labels a split holds that the model has no output for, found before anything is built.

Public intent + slot splits often have test intents (multi-intent labels joined with '#')
and rare slot tags that never occur in train. A model trained on train can never predict
them: `data.unseen_labels: error` stops with one line before any model is built;
`count_as_wrong` keeps the examples, where such an intent can never be predicted right and
such a slot tag is a missed entity in CoNLL F1, as published intent/slot evaluations score
these splits.
"""

import dataclasses

import numpy as np

from tfcompress.data.task_data import UNLABELED_TAG
from tfcompress.errors import DataError

UNSEEN_LABEL_POLICIES = ("error", "count_as_wrong")


@dataclasses.dataclass
class UnseenLabels:
    """Which examples of one split carry labels outside the model's label names.

    Args:
        split: "train" or "eval".
        source: the file or directory the split was read from.
        examples: how many examples carry at least one such label.
        total: the split's size.
        labels: the unseen names by kind: {"labels": [...]} or {"intents": [...], "tags": [...]}.
    """

    split: str
    source: str
    examples: int
    total: int
    labels: dict

    def message(self, fix):
        named = "; ".join(
            f"{kind} {_listed(names)}" for kind, names in self.labels.items() if names
        )
        return (
            f"data.{self.split} ({self.source}): {self.examples} of {self.total} examples have "
            f"labels the model has no output for: {named}; {fix}"
        )

    def to_dict(self):
        return {"examples": self.examples, **self.labels}


def unseen_summary(unseen, policy):
    """metrics.json's record of the eval examples scored as never right."""
    return {"policy": policy, **(unseen.to_dict() if unseen else {"examples": 0})}


def find_unseen_labels(split, source, data, label_names):
    """The `UnseenLabels` of `data` against `label_names` (a runtime's `labels`; without
    "intents", intents are not checked), or None."""
    if hasattr(data, "texts_a"):
        names = sorted(set(data.unknown_labels.values()))
        examples = len(data.unknown_labels)
        found = {"labels": names}
    else:
        # A tagging task has no intent output: only its tags are checked.
        intents = set(label_names.get("intents", data.intents))
        tags = set(label_names["tags"]) | {UNLABELED_TAG}  # words only a teacher labels
        unseen_intent = np.array([i not in intents for i in data.intents], dtype=bool)
        unseen_tag = np.array([any(t not in tags for t in row) for row in data.tags], dtype=bool)
        examples = int((unseen_intent | unseen_tag).sum())
        found = {
            "intents": sorted(set(data.intents) - intents),
            "tags": sorted({t for row in data.tags for t in row} - tags),
        }
    if not examples:
        return None
    return UnseenLabels(split, str(source), examples, len(data), found)


def check_unseen_labels(train, evaluation, label_names, data_config):
    """Raises DataError for unseen labels in train (a model cannot learn them) or, under
    `data.unseen_labels: error`, in eval. Returns the eval's `UnseenLabels` or None."""
    seen_in_train = find_unseen_labels("train", data_config.train, train, label_names)
    if seen_in_train:
        raise DataError(
            seen_in_train.message(
                "the model's label names come from its teacher or task; fix or drop those examples"
            )
        )
    unseen = find_unseen_labels("eval", data_config.eval, evaluation, label_names)
    if unseen and data_config.unseen_labels == "error":
        raise DataError(
            unseen.message(
                "set data.unseen_labels: count_as_wrong to score them as errors (as published "
                "intent/slot evaluations do), or drop those examples"
            )
        )
    return unseen


def _listed(names, limit=8):
    shown = ", ".join(repr(n) for n in names[:limit])
    return f"[{shown}{', ...' if len(names) > limit else ''}]"
