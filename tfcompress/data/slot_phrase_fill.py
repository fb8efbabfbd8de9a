"""Slot values replaced by names from a text corpus, for a teacher to label (`data.phrase_fill`)."""

import collections
import dataclasses
import re

from tfcompress.data.slot_value_swap import replace_slot_values
from tfcompress.data.task_data import UNLABELED_TAG, IntentSlotData
from tfcompress.data.text_files import read_paragraphs
from tfcompress.errors import ConfigError, DataError

# A capitalised word, possibly hyphenated or with an apostrophe ("Saint-Denis", "O'Neil").
_CAPITALISED = re.compile(r"[A-Z][A-Za-z]*(?:['-][A-Za-z]+)*")
_SENTENCE_END = (".", "!", "?")
_PUNCTUATION = "\"'()[],.;:!?"


@dataclasses.dataclass
class SlotPhraseFill:
    """Training utterances whose slot values are replaced by names found in a corpus
    ("play [artist: adele]" → "play [? : river thames]"), tagged unlabelled.

    No one knows the slot of a corpus name in a new context: the filled words carry the
    tag `UNLABELED_TAG`, so ground truth skips them and only a teacher's outputs (soft
    targets, word states) train them. That is the point: the teacher has read about
    places and people the training set never names, and a small student with a small
    vocabulary learns which of them are cities, countries or artists from its labels.
    So it is a `distill` option; `finetune` refuses it. Words outside slot values and
    the intent keep their gold labels.

    Args:
        corpus: text files, one paragraph per line (the pretraining corpus will do).
        copies: filled copies of the training set added to it.
        probability: the chance each slot value of an utterance is replaced.
        max_words: the longest name taken (runs of capitalised words, not at a sentence
            start, lowercased).
        min_count: how often a name must occur in the corpus to be taken (drops typos
            and one-off headings).
        slots: the slots whose values may be replaced (all when absent); name those that
            hold names, since a name where a number or a time belongs teaches nothing.
    """

    corpus: list = None
    copies: int = 1
    probability: float = 0.5
    max_words: int = 3
    min_count: int = 2
    slots: list = None

    def __post_init__(self):
        if not self.corpus or not isinstance(self.corpus, list):
            raise ConfigError(
                f"data.phrase_fill.corpus: {self.corpus!r}; give a list of corpus text files"
            )
        for key in ("copies", "max_words", "min_count"):
            value = getattr(self, key)
            if not isinstance(value, int) or value < 1:
                raise ConfigError(f"data.phrase_fill.{key}: {value!r}; give a whole number >= 1")
        if not 0.0 < self.probability <= 1.0:
            raise ConfigError(
                f"data.phrase_fill.probability: {self.probability}; give a chance in (0, 1]"
            )
        names_slots = isinstance(self.slots, list) and all(isinstance(s, str) for s in self.slots)
        if self.slots is not None and not (self.slots and names_slots):
            raise ConfigError(
                f"data.phrase_fill.slots: {self.slots!r}; give a list of slot names (no B-/I-)"
            )

    def copies_of(self, data: IntentSlotData, seed: int) -> IntentSlotData:
        """The `copies` filled copies of `data`, reproducible from `seed`."""
        self._check_slots(data)
        names = corpus_names(read_paragraphs(self.corpus), self.max_words, self.min_count)
        if not names:
            raise DataError(
                f"data.phrase_fill.corpus: no name of at most {self.max_words} words occurs "
                f"{self.min_count}+ times in {', '.join(map(str, self.corpus))}; give "
                "English prose with capitalised names, or lower min_count"
            )

        def corpus_name(slot, rng):
            name = list(names[rng.integers(len(names))])
            return name, [UNLABELED_TAG] * len(name)

        # Its own stream: beside a slot swap of the same seed, the draws do not line up.
        rng_seed = [seed, 1]
        return replace_slot_values(
            data, corpus_name, self.copies, self.probability, rng_seed, self.slots
        )

    def _check_slots(self, data):
        known = {tag[2:] for tag in data.tag_names()[1:]}
        unknown = sorted(set(self.slots or ()) - known)
        if unknown:
            raise ConfigError(
                f"data.phrase_fill.slots: {unknown} not slots of the training data; "
                f"its slots are {sorted(known)}"
            )


def corpus_names(paragraphs, max_words=3, min_count=2):
    """Names in prose: runs of 1..max_words capitalised words that do not open a sentence,
    lowercased, as word tuples; those seen at least `min_count` times, sorted."""
    counts = collections.Counter(
        run for paragraph in paragraphs for run in _capitalised_runs(paragraph)
    )
    return sorted(
        name for name, n in counts.items() if n >= min_count and len(name) <= max_words
    )


def _capitalised_runs(paragraph):
    """Runs of capitalised words in one paragraph, except those that open a sentence (whose
    first word is capitalised anyway); punctuation after a word ends its run."""
    runs, run, opens_sentence, at_start = [], [], False, True
    for token in paragraph.split():
        word = token.strip(_PUNCTUATION)
        capitalised = _CAPITALISED.fullmatch(word) is not None
        if capitalised:
            opens_sentence = opens_sentence if run else at_start
            run.append(word.lower())
        if not capitalised or word != token:
            if run and not opens_sentence:
                runs.append(tuple(run))
            run = []
        at_start = token.endswith(_SENTENCE_END)
    if run and not opens_sentence:
        runs.append(tuple(run))
    return runs
