"""A text corpus split into words, each word segmented by one or two WordPiece vocabularies."""

import dataclasses
import os
from collections.abc import Sequence

import numpy as np

from tfcompress.data.text_files import read_paragraphs
from tfcompress.errors import DataError

_TOKENIZE_BATCH = 512
MIN_PARAGRAPH_WORDS = 3


@dataclasses.dataclass
class SegmentedCorpus:
    """Paragraphs of words, with every word's wordpieces under each vocabulary.

    Token ids live in one combined space: vocabulary k's ids are offset by the sizes
    of the vocabularies before it, so an id says which vocabulary it belongs to
    (mixed-vocabulary stage I: the teacher's 30,522 ids first, then the student's).
    The first vocabulary is the *home* one whose [CLS], [SEP], [PAD] and [MASK]
    frame every example; the last is the *student* one that mixed segmentation
    picks with probability p.

    Args:
        vocabularies: one or two token lists, home first.
        paragraph_splits: int64 [P + 1], each paragraph's range of word indices.
        word_splits: one int64 [W + 1] array per vocabulary, each word's range in
            `piece_ids` under that vocabulary.
        piece_ids: int32, every word's pieces under every vocabulary (combined ids).

    Example:

    ```python
    corpus = SegmentedCorpus.from_texts(["the cat sat ."], [teacher_vocab, student_vocab])
    ids, from_student = corpus.segment(0, np.array([True, False, True, True]))
    ```
    """

    vocabularies: list[list[str]]
    paragraph_splits: np.ndarray
    word_splits: list[np.ndarray]
    piece_ids: np.ndarray

    @classmethod
    def from_texts(cls, paragraphs: Sequence[str], vocabularies, lower_case=True, source="texts"):
        """Splits `paragraphs` into words (BERT's basic tokenizer) and segments every word
        with each vocabulary; paragraphs under `MIN_PARAGRAPH_WORDS` words are dropped."""
        vocabularies = [list(v) for v in vocabularies]
        if not 1 <= len(vocabularies) <= 2:
            raise ValueError(f"expected one or two vocabularies, got {len(vocabularies)}")
        per_vocab = [_segment_words(paragraphs, vocab, lower_case) for vocab in vocabularies]
        word_counts = per_vocab[0][0]
        for counts, _, _ in per_vocab[1:]:
            # Both tokenizers split words the same way; a mismatch would misalign choices.
            if not np.array_equal(counts, word_counts):
                raise DataError(f"{source}: the vocabularies split the text into different words")
        keep = word_counts >= MIN_PARAGRAPH_WORDS
        if not keep.any():
            raise DataError(
                f"{source}: no usable paragraph (each needs at least {MIN_PARAGRAPH_WORDS} words "
                "on one line); check the corpus files"
            )
        offsets = np.cumsum([0] + [len(v) for v in vocabularies])[:-1]
        kept_words = np.repeat(keep, word_counts)
        piece_ids, word_splits, base = [], [], 0
        for (_, lengths, flat), offset in zip(per_vocab, offsets, strict=True):
            piece_ids.append(flat[np.repeat(kept_words, lengths)].astype(np.int32) + offset)
            lengths = lengths[kept_words]
            word_splits.append(base + np.concatenate([[0], np.cumsum(lengths)]))
            base += int(lengths.sum())
        return cls(
            vocabularies=vocabularies,
            paragraph_splits=np.concatenate([[0], np.cumsum(word_counts[keep])]).astype(np.int64),
            word_splits=word_splits,
            piece_ids=np.concatenate(piece_ids),
        )

    @classmethod
    def read(cls, files, vocabularies, lower_case=True, max_paragraphs=None):
        """One paragraph per line from each of `files`; DataError names an unusable file."""
        paragraphs = read_paragraphs(files)
        if max_paragraphs:
            paragraphs = paragraphs[:max_paragraphs]
        return cls.from_texts(
            paragraphs, vocabularies, lower_case, source=", ".join(map(os.fspath, files))
        )

    @property
    def num_paragraphs(self) -> int:
        return len(self.paragraph_splits) - 1

    @property
    def num_words(self) -> int:
        return int(self.paragraph_splits[-1])

    @property
    def vocab_offsets(self) -> list[int]:
        """Where each vocabulary's ids start in the combined id space."""
        return [int(x) for x in np.cumsum([0] + [len(v) for v in self.vocabularies])[:-1]]

    @property
    def vocab_sizes(self) -> list[int]:
        return [len(v) for v in self.vocabularies]

    def home_id(self, token: str) -> int:
        """A special token's id in the home vocabulary."""
        return self.vocabularies[0].index(token)

    def segment(self, paragraph: int, from_student: np.ndarray):
        """The paragraph's token ids when word i is segmented by the student (last)
        vocabulary where `from_student[i]`, by the home one elsewhere.

        Returns (ids int32 [T], from_student per token bool [T]).
        """
        start, stop = self.paragraph_splits[paragraph], self.paragraph_splits[paragraph + 1]
        words = np.arange(start, stop)
        home, student = self.word_splits[0], self.word_splits[-1]
        starts = np.where(from_student, student[words], home[words])
        lengths = np.where(from_student, student[words + 1], home[words + 1]) - starts
        within = np.arange(lengths.sum()) - np.repeat(np.cumsum(lengths) - lengths, lengths)
        ids = self.piece_ids[np.repeat(starts, lengths) + within]
        return ids, np.repeat(np.asarray(from_student, bool), lengths)

    def paragraph_words(self, paragraph: int) -> int:
        return int(self.paragraph_splits[paragraph + 1] - self.paragraph_splits[paragraph])


def _segment_words(paragraphs, vocab, lower_case):
    """(words per paragraph [P], pieces per word [W], every piece id in order)."""
    # Imported lazily: TensorFlow is heavy and the module is imported by the CLI.
    import tensorflow as tf
    import tensorflow_text as tft

    table = tf.lookup.StaticVocabularyTable(
        tf.lookup.KeyValueTensorInitializer(
            tf.constant(vocab), tf.range(len(vocab), dtype=tf.int64)
        ),
        num_oov_buckets=1,
    )
    tokenizer = tft.BertTokenizer(
        table, token_out_type=tf.int64, unknown_token="[UNK]", lower_case=lower_case
    )
    counts, lengths, flat = [], [], []
    for start in range(0, len(paragraphs), _TOKENIZE_BATCH):
        batch = tokenizer.tokenize(tf.constant(list(paragraphs[start : start + _TOKENIZE_BATCH])))
        counts.append(batch.row_lengths(axis=1).numpy())
        lengths.append(batch.row_lengths(axis=2).flat_values.numpy())
        flat.append(batch.flat_values.numpy())
    return (
        np.concatenate(counts).astype(np.int64),
        np.concatenate(lengths).astype(np.int64),
        np.concatenate(flat),
    )
