"""In-graph BERT WordPiece tokenizer producing fixed-length model inputs."""

import os
from collections.abc import Sequence

import numpy as np
import tensorflow as tf
import tensorflow_text as tft

from tfcompress.data.vocabulary import read_vocabulary
from tfcompress.errors import DataError

SPECIAL_TOKENS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]")
IGNORE_LABEL = -1


class WordPieceTokenizer:
    """tensorflow-text FastBertTokenizer plus BERT input packing.

    Calls are pure TensorFlow ops, so the tokenizer works eagerly, inside
    `tf.data.Dataset.map` and inside a `tf.function` (and converts to TFLite with
    tensorflow-text's custom ops). Outputs are int32 `[batch, sequence_length]`:
    `token_ids` laid out `[CLS] a [SEP] (b [SEP])`, `segment_ids` (0 for a, 1 for b)
    and `padding_mask` (1 for real tokens, 0 for padding).
    """

    def __init__(self, vocab: Sequence[str], sequence_length: int = 128, lower_case: bool = True):
        self._init(list(vocab), sequence_length, lower_case, source="the vocabulary list")

    @classmethod
    def from_vocab_file(
        cls, path: str | os.PathLike, sequence_length: int = 128, lower_case: bool = True
    ):
        """Build from a one-token-per-line vocab.txt; DataError names the file if it is unusable."""
        tokenizer = cls.__new__(cls)
        tokenizer._init(read_vocabulary(path), sequence_length, lower_case, source=str(path))
        return tokenizer

    def _init(self, vocab: list[str], sequence_length: int, lower_case: bool, source: str) -> None:
        check_vocab(vocab, source)
        if sequence_length < 3:
            raise ValueError(
                f"sequence_length must be >= 3 to hold [CLS] a [SEP], got {sequence_length}"
            )
        self._vocab = vocab
        self._index = {token: i for i, token in enumerate(vocab)}
        self.sequence_length = sequence_length
        self.lower_case = lower_case
        try:
            self._tokenizer = tft.FastBertTokenizer(
                vocab=vocab,
                token_out_type=tf.int32,
                unknown_token="[UNK]",
                lower_case_nfd_strip_accents=lower_case,
            )
        except (RuntimeError, ValueError, tf.errors.OpError) as e:
            raise DataError(
                f"{source}: tensorflow-text cannot build a WordPiece tokenizer from "
                f"this vocabulary ({e})"
            ) from None

    @property
    def vocab(self) -> list[str]:
        return list(self._vocab)

    @property
    def vocab_size(self) -> int:
        return len(self._vocab)

    @property
    def pad_id(self) -> int:
        return self._index["[PAD]"]

    @property
    def unk_id(self) -> int:
        return self._index["[UNK]"]

    @property
    def cls_id(self) -> int:
        return self._index["[CLS]"]

    @property
    def sep_id(self) -> int:
        return self._index["[SEP]"]

    @property
    def mask_id(self) -> int | None:
        return self._index.get("[MASK]")

    def __call__(self, texts_a, texts_b=None) -> dict[str, tf.Tensor]:
        """Tokenize and pack a batch of strings (shape [B]) or pairs of them."""
        segments = [self._wordpieces(texts_a)]
        if texts_b is not None:
            segments.append(self._wordpieces(texts_b))
        # Round robin trims the longer segment first, the usual choice for sentence pairs.
        budget = self.sequence_length - 1 - len(segments)
        segments = tft.RoundRobinTrimmer(max_seq_length=budget).trim(segments)
        token_ids, segment_ids = tft.combine_segments(segments, self.cls_id, self.sep_id)
        return self._pack(token_ids, segment_ids)

    def encode_tagged(self, words: tf.RaggedTensor, tag_ids: tf.RaggedTensor):
        """Tokenize pre-split words and align word-level tags to wordpieces.

        `words` is a string RaggedTensor [B, (W)], `tag_ids` an int RaggedTensor of the same
        shape. Returns `(inputs, labels)`: `labels` is int32 [B, sequence_length] holding a
        word's tag at its first wordpiece and -1 everywhere else (later wordpieces, [CLS],
        [SEP], padding, and words truncated away), for losses with `ignore_class=-1`.
        """
        pieces = self._word_pieces(words.flat_values)
        piece_labels = _first_piece_labels(pieces, tf.cast(tag_ids.flat_values, tf.int32))
        tokens = words.with_flat_values(pieces).merge_dims(1, 2)
        labels = words.with_flat_values(pieces.with_flat_values(piece_labels)).merge_dims(1, 2)
        trimmer = tft.RoundRobinTrimmer(max_seq_length=self.sequence_length - 2)
        # Trimming tokens and labels separately keeps them aligned: same lengths, same cut.
        (tokens,) = trimmer.trim([tokens])
        (labels,) = trimmer.trim([labels])
        token_ids, segment_ids = tft.combine_segments([tokens], self.cls_id, self.sep_id)
        labels, _ = tft.combine_segments([labels], IGNORE_LABEL, IGNORE_LABEL)
        labels, _ = tft.pad_model_inputs(labels, self.sequence_length, pad_value=IGNORE_LABEL)
        return self._pack(token_ids, segment_ids), self._fix_shape(labels)

    def tokenize(self, text: str) -> list[str]:
        """Wordpiece strings of one text, for debugging (eager only)."""
        ids = self._wordpieces(tf.constant([text]))[0].numpy()
        return [self._vocab[i] for i in ids]

    def wordpiece_ids(self, texts) -> tf.RaggedTensor:
        """Wordpiece ids [B, (P)] of a batch of strings, unpacked: no [CLS]/[SEP], no trimming.

        For packers other than `__call__`: the TFLite text model packs these with dense ops
        (tfcompress.export.text_model) and is parity-checked against `__call__`.
        """
        return self._wordpieces(texts)

    def packed_lengths(self, texts_a, texts_b=None, words=None) -> np.ndarray:
        """Tokens each example would take untrimmed, [CLS] and [SEP]s included: of texts
        (or pairs) as `__call__` packs them, or of pre-split `words` as `encode_tagged` does."""
        if words is not None:
            flat = tf.constant([w for row in words for w in row], tf.string)
            pieces = self._word_pieces(flat).row_lengths().numpy()
            ends = np.cumsum([len(row) for row in words])[:-1]
            return np.array([part.sum() for part in np.split(pieces, ends)]) + 2
        lengths = self._wordpieces(texts_a).row_lengths().numpy() + 2
        if texts_b is not None:
            lengths += self._wordpieces(texts_b).row_lengths().numpy() + 1
        return lengths

    def _wordpieces(self, texts) -> tf.RaggedTensor:
        texts = tf.convert_to_tensor(texts, dtype=tf.string)
        return self._tokenizer.tokenize(texts)

    def _word_pieces(self, words: tf.Tensor) -> tf.RaggedTensor:
        """Wordpieces per word, [N, (P)], with [UNK] for a word that yields no pieces.

        Without the [UNK] a word made only of characters the normalizer drops would have
        no first piece, and its tag would silently vanish.
        """
        pieces = self._tokenizer.tokenize(words)
        empty = tf.cast(tf.equal(pieces.row_lengths(), 0), tf.int64)
        unk = tf.fill([tf.reduce_sum(empty)], tf.constant(self.unk_id, tf.int32))
        return tf.concat([pieces, tf.RaggedTensor.from_row_lengths(unk, empty)], axis=1)

    def _pack(
        self, token_ids: tf.RaggedTensor, segment_ids: tf.RaggedTensor
    ) -> dict[str, tf.Tensor]:
        token_ids, padding_mask = tft.pad_model_inputs(
            token_ids, self.sequence_length, pad_value=self.pad_id
        )
        segment_ids, _ = tft.pad_model_inputs(segment_ids, self.sequence_length, pad_value=0)
        return {
            "token_ids": self._fix_shape(token_ids),
            "segment_ids": self._fix_shape(segment_ids),
            "padding_mask": self._fix_shape(padding_mask),
        }

    def _fix_shape(self, x: tf.Tensor) -> tf.Tensor:
        # Keras and the TFLite exporter need the sequence axis static.
        return tf.ensure_shape(tf.cast(x, tf.int32), [None, self.sequence_length])


def _first_piece_labels(pieces: tf.RaggedTensor, word_tags: tf.Tensor) -> tf.Tensor:
    """Flat per-piece labels: the word's tag on its first piece, -1 on the rest."""
    word_of_piece = pieces.value_rowids()
    position = tf.range(tf.size(pieces.flat_values, out_type=tf.int64)) - tf.gather(
        pieces.row_starts(), word_of_piece
    )
    return tf.where(tf.equal(position, 0), tf.gather(word_tags, word_of_piece), IGNORE_LABEL)


def word_level_predictions(pred_ids: np.ndarray, labels: np.ndarray) -> list[list[int]]:
    """Token-level predictions [B, S] (or logits [B, S, tags]) back to word level, using
    `labels` [B, S] from encode_tagged.

    Takes the prediction at each word's first wordpiece (where labels != -1). Words that
    truncation removed have no such position and are absent from the result, so a row can
    be shorter than its sentence; callers pad those words with "O" before scoring.
    """
    pred_ids, labels = np.asarray(pred_ids), np.asarray(labels)
    return [
        row_pred[row_labels != IGNORE_LABEL].tolist()
        for row_pred, row_labels in zip(pred_ids, labels)
    ]


def check_vocab(vocab: list[str], source: str) -> None:
    if not vocab:
        raise DataError(f"{source}: vocabulary is empty; it must list one token per line")
    missing = [t for t in SPECIAL_TOKENS if t not in vocab]
    if missing:
        raise DataError(
            f"{source}: vocabulary lacks the special token(s) {', '.join(missing)}; "
            f"add them (one per line, conventionally at the top) or relearn the vocabulary"
        )
    duplicates = (
        sorted({t for t in vocab if vocab.count(t) > 1}) if len(set(vocab)) < len(vocab) else []
    )
    if duplicates:
        raise DataError(
            f"{source}: vocabulary lists {', '.join(map(repr, duplicates[:5]))} more than once; "
            "every token must be unique (one per line)"
        )
