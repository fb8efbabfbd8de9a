"""In-memory task datasets as read from disk, before tokenization."""

from dataclasses import dataclass, field, replace

import numpy as np


@dataclass
class TextClassificationData:
    """Single sentences or sentence pairs with integer labels indexing `label_names`.

    `skipped` counts malformed rows the reader dropped (skip_malformed=True). A label
    outside `label_names` (kept by `read_glue_tsv(keep_unknown_labels=True)`) is -1, its
    text in `unknown_labels` under the example's index.
    """

    texts_a: list[str]
    texts_b: list[str] | None
    labels: np.ndarray
    label_names: list[str]
    skipped: int = 0
    unknown_labels: dict[int, str] = field(default_factory=dict)

    def __post_init__(self):
        self.labels = np.asarray(self.labels, dtype=np.int64)
        if len(self.labels) != len(self.texts_a) or (
            self.texts_b is not None and len(self.texts_b) != len(self.texts_a)
        ):
            raise ValueError("texts_a, texts_b and labels must have the same length")

    def __len__(self) -> int:
        return len(self.texts_a)

    def subset(self, n: int, seed: int = 0) -> "TextClassificationData":
        """A random sample of `n` examples (all if n >= len), in their original order."""
        idx = _sample_indices(len(self), n, seed)
        return replace(
            self,
            texts_a=[self.texts_a[i] for i in idx],
            texts_b=None if self.texts_b is None else [self.texts_b[i] for i in idx],
            labels=self.labels[idx],
            label_names=list(self.label_names),
            unknown_labels={
                new: self.unknown_labels[old]
                for new, old in enumerate(idx.tolist())
                if old in self.unknown_labels
            },
        )


# The tag of a word whose slot no one labelled (SlotPhraseFill): a word start that only a
# teacher's outputs can train; tag_names() leaves it out and datasets give it UNLABELED_WORD.
UNLABELED_TAG = "?"


@dataclass
class IntentSlotData:
    """Utterances as word lists, one IOB slot tag per word, one intent per utterance."""

    words: list[list[str]]
    tags: list[list[str]]
    intents: list[str]
    skipped: int = 0

    def __post_init__(self):
        if not len(self.words) == len(self.tags) == len(self.intents):
            raise ValueError("words, tags and intents must have the same length")

    def __len__(self) -> int:
        return len(self.words)

    def intent_names(self) -> list[str]:
        return sorted(set(self.intents))

    def tag_names(self) -> list[str]:
        """Sorted tags with "O" first; "O" is always present since it pads truncated words."""
        return ["O"] + sorted({t for row in self.tags for t in row} - {"O", UNLABELED_TAG})

    def subset(self, n: int, seed: int = 0) -> "IntentSlotData":
        """A random sample of `n` examples (all if n >= len), in their original order."""
        idx = _sample_indices(len(self), n, seed)
        return replace(
            self,
            words=[list(self.words[i]) for i in idx],
            tags=[list(self.tags[i]) for i in idx],
            intents=[self.intents[i] for i in idx],
        )


def _sample_indices(size: int, n: int, seed: int) -> np.ndarray:
    if n < 0:
        raise ValueError(f"subset size must be >= 0, got {n}")
    if n >= size:
        return np.arange(size)
    return np.sort(np.random.default_rng(seed).choice(size, size=n, replace=False))


def value_tags(slot: str, length: int) -> list[str]:
    """IOB2 tags of one slot value of `length` words: B- on the first, I- on the rest."""
    return [f"B-{slot}"] + [f"I-{slot}"] * (length - 1)


def concatenate(*parts: IntentSlotData) -> IntentSlotData:
    """One IntentSlotData with the utterances of `parts` in order."""
    return replace(
        parts[0],
        words=[w for p in parts for w in p.words],
        tags=[t for p in parts for t in p.tags],
        intents=[i for p in parts for i in p.intents],
    )
