"""Slot-value swap augmentation for intent + slot training data (`data.slot_swap`)."""

import dataclasses

import numpy as np

from tfcompress.data.task_data import IntentSlotData, concatenate, value_tags
from tfcompress.errors import ConfigError


@dataclasses.dataclass
class SlotValueSwap:
    """New training utterances made by replacing slot values with other values of the
    same slot seen in training ("play [artist: adele]" → "play [artist: the beatles]").

    The tags of a swapped utterance are known exactly (B- on the new value's first word,
    I- on the rest), so the copies train with their labels alone or, under `distill`,
    with the teacher's outputs on them too. Small students memorise the values they saw;
    the copies make the context, not the value, what predicts a slot.

    Args:
        copies: augmented copies of the training set added to the originals (1 doubles
            it: each epoch takes `copies + 1` times as many steps).
        probability: the chance each slot value in an utterance is swapped. A copy with
            no value swapped (an utterance without slots, say) repeats its original.
    """

    copies: int = 1
    probability: float = 1.0

    def __post_init__(self):
        if not isinstance(self.copies, int) or self.copies < 1:
            raise ConfigError(
                f"data.slot_swap.copies: {self.copies!r}; give a whole number of copies >= 1"
            )
        if not 0.0 < self.probability <= 1.0:
            raise ConfigError(
                f"data.slot_swap.probability: {self.probability}; give a chance in (0, 1]"
            )

    def apply(self, data: IntentSlotData, seed: int) -> IntentSlotData:
        """The originals followed by `copies` swapped copies, reproducible from `seed`."""
        return concatenate(data, self.copies_of(data, seed))

    def copies_of(self, data: IntentSlotData, seed: int) -> IntentSlotData:
        """The `copies` swapped copies alone."""
        values = slot_values(data)

        def other_value(slot, rng):
            choices = values[slot]
            value = list(choices[rng.integers(len(choices))])
            return value, value_tags(slot, len(value))

        return replace_slot_values(data, other_value, self.copies, self.probability, seed)


def replace_slot_values(data, new_value, copies, probability, seed, slots=None):
    """`copies` copies of `data` in which each slot value (of `slots`, or any) is, with
    `probability`, replaced by `new_value(slot, rng)` → (words, tags); other words keep
    their tags."""
    rng = np.random.default_rng(seed)
    words, tags = [], []
    for _ in range(copies):
        for row_words, row_tags in zip(data.words, data.tags, strict=True):
            new_words, new_tags = [], []
            for start, end, slot in _spans(row_tags):
                value = row_words[start:end], row_tags[start:end]
                chosen = slot is not None and (slots is None or slot in slots)
                if chosen and rng.random() < probability:
                    value = new_value(slot, rng)
                new_words += value[0]
                new_tags += value[1]
            words.append(new_words)
            tags.append(new_tags)
    return dataclasses.replace(data, words=words, tags=tags, intents=list(data.intents) * copies)


def slot_values(data: IntentSlotData) -> dict[str, list[tuple[str, ...]]]:
    """Every distinct value (a word tuple) of each slot in `data`, sorted for determinism."""
    values: dict[str, set] = {}
    for words, tags in zip(data.words, data.tags, strict=True):
        for start, end, slot in _spans(tags):
            if slot is not None:
                values.setdefault(slot, set()).add(tuple(words[start:end]))
    return {slot: sorted(found) for slot, found in values.items()}


def _spans(tags):
    """(start, end, slot) runs covering the utterance: one per slot value (a B- tag, or an
    I- tag that does not continue the slot before it, opens one, as CoNLL scoring reads
    them) and one per "O" word, with slot None."""
    spans = []
    for i, tag in enumerate(tags):
        slot = None if tag == "O" else tag[2:]
        continues = (
            slot is not None and tag.startswith("I-") and spans and spans[-1][2] == slot
        )
        if continues:
            spans[-1][1] = i + 1
        else:
            spans.append([i, i + 1, slot])
    return spans
