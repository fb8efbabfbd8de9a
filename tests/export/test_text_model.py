"""Strings-in TFLite text model: tokenizer in the graph, parity with the Python tokenizer."""

import numpy as np
import pytest
import tensorflow as tf

from tfcompress.data.vocabulary import ascii_tokens
from tfcompress.data.wordpiece_tokenizer import WordPieceTokenizer
from tfcompress.export.text_model import (
    TextModelParityError,
    encode_for_tflite,
    export_text_model,
    load_text_interpreter,
    round_robin_lengths,
    run_text_model,
    verify_text_model,
)
from tfcompress.models import Encoder, EncoderConfig, build_classifier

SEQ = 16
WORDS = ["the", "cat", "sat", "on", "mat", "play", "##ing", "dog", "cafe", "naive", "東", "京"]
VOCAB = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + ascii_tokens() + WORDS

ODD_TEXTS = [
    "",
    "The cats sat.",
    "Café naïve",  # accents stripped by lower-casing: cafe naive
    "東京",  # CJK characters split one per token
    "🙂",  # not in the vocab: [UNK]
    "HeLLo WoRLD MiXeD",
    "!!?...,;",
    "   ",
    "\t\n \r",
    "e\u0301te\u0301",  # combining accents
    "zero\u200bwidth\x00nul",
    "مرحبا नमस्ते",
    "a" * 300,  # one word over max_bytes_per_word: a single [UNK]
    "the cats sat on the mat " * 200,  # far past SEQ: must truncate identically
]
PAIR_TEXTS = list(reversed(ODD_TEXTS))


@pytest.fixture(scope="module")
def tokenizer():
    return WordPieceTokenizer(VOCAB, sequence_length=SEQ)


@pytest.fixture(scope="module")
def classifier():
    config = EncoderConfig(
        vocab_size=len(VOCAB),
        hidden_size=32,
        num_layers=2,
        num_heads=2,
        intermediate_size=64,
        max_length=64,
        dropout=0.0,
        attention_dropout=0.0,
    )
    return build_classifier(Encoder(config), 3, sequence_length=SEQ)


@pytest.fixture(scope="module")
def float_export(classifier, tokenizer, tmp_path_factory):
    path = tmp_path_factory.mktemp("text") / "model.tflite"
    return path, export_text_model(classifier, tokenizer, path)


def test_round_robin_lengths_match_tft_trimmer():
    import tensorflow_text as tft

    a, b = np.meshgrid(np.arange(10), np.arange(10))
    a, b = a.ravel(), b.ravel()
    for budget in range(9):
        segments = [
            tf.RaggedTensor.from_row_lengths(tf.zeros(n.sum(), tf.int32), n) for n in (a, b)
        ]
        want = [s.row_lengths().numpy() for s in tft.RoundRobinTrimmer(budget).trim(segments)]
        got = [k.numpy() for k in round_robin_lengths([tf.constant(a), tf.constant(b)], budget)]
        np.testing.assert_array_equal(got, want, err_msg=f"budget={budget}")


@pytest.mark.parametrize("sequence_length", [3, 4, 7, SEQ])
def test_builtin_packing_matches_python_tokenizer(sequence_length):
    tokenizer = WordPieceTokenizer(VOCAB, sequence_length=sequence_length)
    for pairs in (None, tf.constant(PAIR_TEXTS)):
        want = tokenizer(tf.constant(ODD_TEXTS), pairs)
        got = encode_for_tflite(tokenizer, tf.constant(ODD_TEXTS), pairs)
        for name in want:
            np.testing.assert_array_equal(got[name], want[name], err_msg=name)


def test_float_text_model_matches_python_tokenizer_on_odd_inputs(
    float_export, classifier, tokenizer
):
    path, report = float_export
    assert report["inputs"] == ["text"]
    assert report["outputs"] == ["logits", "token_ids", "segment_ids"]
    # Only tokenizer ops are custom, and all of them have tensorflow-text TFLite kernels.
    assert set(report["custom_ops"]) == {"FastBertNormalize", "FastWordpieceTokenizeWithOffsets"}
    assert path.stat().st_size == report["size_bytes"]
    assert list(path.parent.iterdir()) == [path]  # the atomic write left no temp file

    result = verify_text_model(path, classifier, tokenizer, ODD_TEXTS, atol=1e-4)
    assert result["id_mismatches"] == {"token_ids": [], "segment_ids": []}
    assert result["argmax_agreement"]["logits"] == 1.0


def test_long_text_is_truncated_with_sep(float_export, tokenizer):
    interpreter = load_text_interpreter(float_export[0])
    ids = run_text_model(interpreter, [ODD_TEXTS[-1], ""])["token_ids"]
    assert ids[0, 0] == tokenizer.cls_id and ids[0, -1] == tokenizer.sep_id
    assert tokenizer.pad_id not in ids[0]
    assert ids[1, :3].tolist() == [tokenizer.cls_id, tokenizer.sep_id, tokenizer.pad_id]


def test_pair_text_model_matches(classifier, tokenizer, tmp_path):
    path = tmp_path / "pair.tflite"
    report = export_text_model(classifier, tokenizer, path, pair=True)
    assert report["inputs"] == ["text", "text_pair"]
    verify_text_model(path, classifier, tokenizer, ODD_TEXTS, PAIR_TEXTS, atol=1e-4)


def test_dynamic_batch_text_model_matches(classifier, tokenizer, tmp_path):
    path = tmp_path / "batch.tflite"
    export_text_model(classifier, tokenizer, path, batch_size=None)
    runner = load_text_interpreter(path).get_signature_runner()
    assert runner.get_input_details()["text"]["shape_signature"].tolist() == [-1]
    verify_text_model(path, classifier, tokenizer, ODD_TEXTS, atol=1e-4)


def test_dynamic_range_text_model(classifier, tokenizer, tmp_path):
    path = tmp_path / "dynamic.tflite"
    report = export_text_model(classifier, tokenizer, path, mode="dynamic")
    assert report["tensor_types"]["INT8"] > 0  # quantized weights
    result = verify_text_model(path, classifier, tokenizer, ODD_TEXTS, atol=0.05)
    assert result["id_mismatches"] == {"token_ids": [], "segment_ids": []}


def test_int8_text_model_calibrates_through_the_tokenizer(classifier, tokenizer, tmp_path):
    path = tmp_path / "int8.tflite"
    report = export_text_model(
        classifier, tokenizer, path, mode="int8", representative_texts=ODD_TEXTS
    )
    types = report["tensor_types"]
    assert types["INT8"] > types["FLOAT32"]  # activations, not only weights
    assert types["STRING"] > 0
    result = verify_text_model(
        path, classifier, tokenizer, ODD_TEXTS, atol=0.1, min_argmax_agreement=0.5
    )
    assert result["id_mismatches"] == {"token_ids": [], "segment_ids": []}


def test_int8_needs_representative_texts(classifier, tokenizer, tmp_path):
    with pytest.raises(ValueError, match="representative_texts"):
        export_text_model(classifier, tokenizer, tmp_path / "x.tflite", mode="int8")
    assert not list(tmp_path.iterdir())


def test_tokenizer_mismatch_raises_with_the_numbers(float_export, classifier):
    cased = WordPieceTokenizer(VOCAB, sequence_length=SEQ, lower_case=False)
    with pytest.raises(TextModelParityError, match=r"token_ids differ on \d+ of 14 texts"):
        verify_text_model(float_export[0], classifier, cased, ODD_TEXTS)


def test_other_weights_raise(float_export, tokenizer):
    other = build_classifier(
        Encoder(
            EncoderConfig(
                vocab_size=len(VOCAB),
                hidden_size=32,
                num_layers=2,
                num_heads=2,
                intermediate_size=64,
                max_length=64,
            )
        ),
        3,
        sequence_length=SEQ,
    )
    with pytest.raises(TextModelParityError, match="logits max abs diff"):
        verify_text_model(float_export[0], other, tokenizer, ODD_TEXTS[:3])
