import string

import pytest

from tfcompress.data.vocabulary import learn_wordpiece_vocabulary, read_vocabulary, write_vocabulary
from tfcompress.data.wordpiece_tokenizer import WordPieceTokenizer
from tfcompress.errors import DataError

RESERVED = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")
ASCII = [c for c in string.printable if not c.isspace()]
CORPUS = [
    "the quick brown fox jumps over the lazy dog",
    "the dog sleeps while the fox is running",
    "running and jumping are things foxes and dogs do",
    "The Lazy Dogs were sleeping; the foxes kept jumping!",
] * 20


@pytest.fixture(scope="module")
def learned():
    return learn_wordpiece_vocabulary(CORPUS, vocab_size=260)


def test_reserved_first_then_all_ascii_both_forms(learned):
    assert tuple(learned[:5]) == RESERVED
    for c in ASCII:
        assert c in learned and "##" + c in learned, c
    assert len(learned) == len(set(learned))


def test_respects_vocab_size_and_learns_words(learned):
    assert len(learned) <= 260
    # 5 reserved + 188 ASCII tokens leave room for frequent corpus words.
    assert len(learned) > 5 + 2 * len(ASCII)
    assert "the" in learned


def test_learned_vocab_tokenizes_any_ascii_without_unk(learned):
    tok = WordPieceTokenizer(learned, sequence_length=128)
    token_ids = tok([string.printable, "Zebra@42 ~quux^"])["token_ids"].numpy()
    assert tok.unk_id not in token_ids


def test_too_small_vocab_size_names_minimum():
    with pytest.raises(ValueError, match=str(5 + 2 * len(ASCII))):
        learn_wordpiece_vocabulary(CORPUS, vocab_size=100)


def test_empty_corpus_gives_required_tokens_only():
    vocab = learn_wordpiece_vocabulary(
        [], vocab_size=500, reserved_tokens=("[PAD]", "[UNK]", "[CLS]", "[SEP]")
    )
    assert vocab[:4] == ["[PAD]", "[UNK]", "[CLS]", "[SEP]"] and len(vocab) == 4 + 2 * len(ASCII)


def test_write_read_roundtrip_is_atomic(tmp_path, learned):
    path = tmp_path / "sub" / "vocab.txt"
    write_vocabulary(path, learned)
    assert read_vocabulary(path) == learned
    assert [p.name for p in path.parent.iterdir()] == ["vocab.txt"]  # no temp file left behind
    with pytest.raises(ValueError):
        write_vocabulary(path, ["ok", "bad\ntoken"])
    assert read_vocabulary(path) == learned


def test_read_errors_name_file(tmp_path):
    with pytest.raises(DataError, match="nope.txt"):
        read_vocabulary(tmp_path / "nope.txt")
    (tmp_path / "e.txt").write_text("")
    with pytest.raises(DataError, match="e.txt.*empty"):
        read_vocabulary(tmp_path / "e.txt")
