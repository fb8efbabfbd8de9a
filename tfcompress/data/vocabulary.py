"""Learn, write and read WordPiece vocabularies (one token per line, BERT vocab.txt style)."""

import os
import string
from collections.abc import Iterable, Sequence
from pathlib import Path

from tfcompress.atomic_write import write_text_atomic
from tfcompress.data.text_files import read_lines, read_paragraphs
from tfcompress.errors import DataError

DEFAULT_RESERVED_TOKENS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")
_LEARN_BATCH = 1024


def ascii_tokens() -> list[str]:
    """Every printable non-whitespace ASCII char, word-initial then as a `##` continuation.

    Guaranteeing these keeps any ASCII word tokenizable without [UNK], whatever the
    training corpus happened to contain.
    """
    chars = [c for c in string.printable if not c.isspace()]
    return chars + ["##" + c for c in chars]


def learn_wordpiece_vocabulary(
    texts: Iterable[str],
    vocab_size: int,
    lower_case: bool = True,
    reserved_tokens: Sequence[str] = DEFAULT_RESERVED_TOKENS,
) -> list[str]:
    """Learn a WordPiece vocabulary of at most `vocab_size` tokens from `texts`.

    Order: `reserved_tokens` (as given), the ASCII tokens of `ascii_tokens()`, then what
    tensorflow-text's BERT vocabulary learner chose. Use the same `lower_case` for the
    WordPieceTokenizer that reads the result.
    """
    required = _dedupe(list(reserved_tokens) + ascii_tokens())
    if vocab_size < len(required):
        raise ValueError(
            f"vocab_size={vocab_size} is too small: the reserved tokens and ASCII characters "
            f"alone need {len(required)}; use vocab_size >= {len(required)}"
        )
    learned = _learn(list(texts), vocab_size, lower_case, required)
    return _dedupe(required + learned)[:vocab_size]


def _learn(texts: list[str], vocab_size: int, lower_case: bool, required: list[str]) -> list[str]:
    # Imported lazily: the learner pulls in TensorFlow, and the library must stay light on import.
    import tensorflow as tf
    from tensorflow_text.tools.wordpiece_vocab import bert_vocab_from_dataset

    if not any(t.strip() for t in texts):
        return []
    dataset = tf.data.Dataset.from_tensor_slices(tf.constant(texts, tf.string)).batch(_LEARN_BATCH)
    # Passing the ASCII tokens as "reserved" makes the learner count them toward vocab_size.
    return bert_vocab_from_dataset.bert_vocab_from_dataset(
        dataset,
        vocab_size=vocab_size,
        reserved_tokens=required,
        bert_tokenizer_params={"lower_case": lower_case},
    )


def _dedupe(tokens: list[str]) -> list[str]:
    return list(dict.fromkeys(tokens))


def write_vocabulary(path: str | os.PathLike, tokens: Sequence[str]) -> None:
    """Write one token per line, atomically."""
    bad = [t for t in tokens if not t or any(c in t for c in "\r\n")]
    if bad:
        raise ValueError(
            f"cannot write vocabulary {path}: tokens must be non-empty single lines, got {bad[:5]!r}"
        )
    write_text_atomic(path, "".join(t + "\n" for t in tokens))


def read_vocabulary(path: str | os.PathLike) -> list[str]:
    """Read a one-token-per-line vocabulary; DataError if missing or empty."""
    path = Path(path)
    tokens = read_lines(path, "vocabulary file", "check the path or learn one first")
    if not tokens:
        raise DataError(f"{path}: vocabulary file is empty; it must list one token per line")
    return tokens


def learn_vocabulary_from_files(files, vocab_size, output, max_lines=None, lower_case=True):
    """Learns a vocabulary from text files (one paragraph per line) and writes it to `output`."""
    texts = read_paragraphs(files)
    texts = texts[:max_lines] if max_lines else texts
    try:
        tokens = learn_wordpiece_vocabulary(texts, vocab_size, lower_case)
    except ValueError as e:
        raise DataError(f"--size: {e}") from None
    write_vocabulary(output, tokens)
    return tokens


def vocabulary_overlap(tokens, other_path):
    """(how many of `tokens` the vocabulary at `other_path` also lists, its size)."""
    other = set(read_vocabulary(other_path))
    return sum(t in other for t in tokens), len(other)
