import numpy as np
import pytest
import tensorflow as tf

from tfcompress.data.wordpiece_tokenizer import WordPieceTokenizer, word_level_predictions
from tfcompress.errors import DataError

# ids:     0        1        2        3        4         5      6      7      8      9     10     11   12      13       14
VOCAB = [
    "[PAD]",
    "[UNK]",
    "[CLS]",
    "[SEP]",
    "[MASK]",
    "the",
    "cat",
    "sat",
    "##s",
    "on",
    "mat",
    ".",
    "play",
    "##ing",
    "dog",
]


def ids(x):
    return x.numpy().tolist()


def test_special_ids_and_properties():
    tok = WordPieceTokenizer(VOCAB, sequence_length=10)
    assert (tok.pad_id, tok.unk_id, tok.cls_id, tok.sep_id, tok.mask_id) == (0, 1, 2, 3, 4)
    assert tok.vocab_size == 15 and tok.vocab == VOCAB
    assert WordPieceTokenizer([t for t in VOCAB if t != "[MASK]"]).mask_id is None


def test_single_segment_hand_computed():
    out = WordPieceTokenizer(VOCAB, sequence_length=10)(["The cats sat."])
    assert ids(out["token_ids"]) == [[2, 5, 6, 8, 7, 11, 3, 0, 0, 0]]
    assert ids(out["segment_ids"]) == [[0] * 10]
    assert ids(out["padding_mask"]) == [[1] * 7 + [0] * 3]
    assert all(v.dtype == tf.int32 for v in out.values())


def test_pair_hand_computed_with_unknown_word():
    out = WordPieceTokenizer(VOCAB, sequence_length=10)(
        tf.constant(["the cat"]), tf.constant(["a dog"])
    )
    assert ids(out["token_ids"]) == [[2, 5, 6, 3, 1, 14, 3, 0, 0, 0]]
    assert ids(out["segment_ids"]) == [[0, 0, 0, 0, 1, 1, 1, 0, 0, 0]]
    assert ids(out["padding_mask"]) == [[1] * 7 + [0] * 3]


def test_truncation_keeps_sep():
    tok = WordPieceTokenizer(VOCAB, sequence_length=6)
    out = tok(["the cats sat on the mat"])
    assert ids(out["token_ids"]) == [[2, 5, 6, 8, 7, 3]]
    assert ids(out["padding_mask"]) == [[1] * 6]
    # Round robin: each segment of a pair keeps 2 of the 4 free positions.
    pair = WordPieceTokenizer(VOCAB, sequence_length=7)(["the cats"], ["playing on the mat"])
    assert ids(pair["token_ids"]) == [[2, 5, 6, 3, 12, 13, 3]]
    assert ids(pair["segment_ids"]) == [[0, 0, 0, 0, 1, 1, 1]]


def test_padding_uses_pad_id_wherever_it_is():
    vocab = ["[UNK]", "[CLS]", "[SEP]", "[PAD]", "the"]
    out = WordPieceTokenizer(vocab, sequence_length=5)(["the"])
    assert ids(out["token_ids"]) == [[1, 4, 2, 3, 3]]
    assert ids(out["padding_mask"]) == [[1, 1, 1, 0, 0]]


def test_batched_inside_dataset_map_matches_eager():
    tok = WordPieceTokenizer(VOCAB, sequence_length=8)
    texts = ["the cat sat", "playing dog", "mat"]
    ds = tf.data.Dataset.from_tensor_slices(texts).batch(2).map(tok)
    assert ds.element_spec["token_ids"].shape.as_list() == [None, 8]
    got = np.concatenate([b["token_ids"].numpy() for b in ds])
    np.testing.assert_array_equal(got, tok(texts)["token_ids"].numpy())
    assert got.tolist() == [
        [2, 5, 6, 7, 3, 0, 0, 0],
        [2, 12, 13, 14, 3, 0, 0, 0],
        [2, 10, 3, 0, 0, 0, 0, 0],
    ]
    masks = np.concatenate([b["padding_mask"].numpy() for b in ds])
    assert masks.sum(axis=1).tolist() == [5, 5, 3]


def test_encode_tagged_puts_tags_on_first_wordpieces():
    tok = WordPieceTokenizer(VOCAB, sequence_length=8)
    words = tf.ragged.constant([["the", "cats", "sat"], ["playing", "dog"]])
    tags = tf.ragged.constant([[1, 2, 3], [4, 5]], dtype=tf.int32)
    inputs, labels = tok.encode_tagged(words, tags)
    assert ids(inputs["token_ids"]) == [[2, 5, 6, 8, 7, 3, 0, 0], [2, 12, 13, 14, 3, 0, 0, 0]]
    assert ids(labels) == [[-1, 1, 2, -1, 3, -1, -1, -1], [-1, 4, -1, 5, -1, -1, -1, -1]]
    assert labels.shape.as_list() == [2, 8]


def test_encode_tagged_truncation_drops_words_and_keeps_sep():
    tok = WordPieceTokenizer(VOCAB, sequence_length=5)
    words = tf.ragged.constant([["the", "cats", "sat"]])
    inputs, labels = tok.encode_tagged(words, tf.ragged.constant([[1, 2, 3]], dtype=tf.int32))
    assert ids(inputs["token_ids"]) == [[2, 5, 6, 8, 3]]
    assert ids(labels) == [[-1, 1, 2, -1, -1]]
    preds = np.array([[9, 7, 8, 9, 9]])
    assert word_level_predictions(preds, labels.numpy()) == [[7, 8]]  # "sat" was truncated away


def test_word_level_predictions_takes_labelled_positions():
    labels = np.array([[-1, 1, 2, -1, 3, -1], [-1, 4, -1, 5, -1, -1]])
    preds = np.array([[0, 10, 20, 30, 40, 50], [0, 11, 21, 31, 41, 51]])
    assert word_level_predictions(preds, labels) == [[10, 20, 40], [11, 31]]


def test_from_vocab_file_and_errors(tmp_path):
    good = tmp_path / "vocab.txt"
    good.write_text("\n".join(VOCAB) + "\n", encoding="utf-8")
    assert WordPieceTokenizer.from_vocab_file(good, sequence_length=4).vocab == VOCAB
    with pytest.raises(DataError, match="missing.txt.*not found"):
        WordPieceTokenizer.from_vocab_file(tmp_path / "missing.txt")
    empty = tmp_path / "empty.txt"
    empty.write_text("", encoding="utf-8")
    with pytest.raises(DataError, match="empty.txt.*empty"):
        WordPieceTokenizer.from_vocab_file(empty)
    partial = tmp_path / "partial.txt"
    partial.write_text("[PAD]\n[UNK]\nthe\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"partial.txt.*\[CLS\], \[SEP\]"):
        WordPieceTokenizer.from_vocab_file(partial)


def test_tokenize_debug_strings():
    assert WordPieceTokenizer(VOCAB).tokenize("Playing cats") == ["play", "##ing", "cat", "##s"]


def test_packed_lengths_count_what_packing_keeps_when_nothing_is_cut():
    tokenizer = WordPieceTokenizer(VOCAB, sequence_length=64)
    texts_a, texts_b = ["the cats sat", "playing zebra dog", ""], ["mat", "", "the the"]
    real = tokenizer(texts_a, texts_b)["padding_mask"].numpy().sum(-1)
    assert tokenizer.packed_lengths(texts_a, texts_b).tolist() == real.tolist()
    single = tokenizer(texts_a)["padding_mask"].numpy().sum(-1)
    assert tokenizer.packed_lengths(texts_a).tolist() == single.tolist()
    words = [["the", "cats"], ["zebra"], ["\u200b", "playing"]]  # a word with no pieces
    ragged = tf.ragged.constant(words)
    inputs, _ = tokenizer.encode_tagged(ragged, tf.ragged.constant([[0, 0], [0], [0, 0]]))
    expected = inputs["padding_mask"].numpy().sum(-1).tolist()
    assert tokenizer.packed_lengths(None, words=words).tolist() == expected
