"""Strings-in TFLite text model: tokenizer in the graph, parity with the Python tokenizer."""

import collections
import json
import random
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from tests.export.conftest import fit_briefly
from tfcompress.data.vocabulary import ascii_tokens
from tfcompress.data.wordpiece_tokenizer import WordPieceTokenizer
from tfcompress.errors import ConfigError
from tfcompress.export.converter import convert
from tfcompress.export.text_model import (
    TextModelParityError,
    build_tokenizer_module,
    encode_for_tflite,
    encode_one_text,
    export_text_model,
    load_text_interpreter,
    round_robin_lengths,
    run_text_model,
    verify_text_model,
)
from tfcompress.export.tflite_export import export_tflite, report_path
from tfcompress.export.tflite_model_runner import TFLiteModelRunner
from tfcompress.export.verification import compare_outputs, op_histogram
from tfcompress.models import Encoder, EncoderConfig, build_classifier, build_intent_slot_model

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
    "bell\x07 escape\x1b[31m del\x7f",  # control characters
    "the cats sat on the mat " * 1667,  # 10,002 words, far past SEQ: truncated identically
]
PAIR_TEXTS = list(reversed(ODD_TEXTS))


def sentences(n, seed):
    """Random sentences over the vocabulary's words plus character-level words; class 0 if
    "cat" occurs, 1 if "dog" does (and no cat), else 2: learnable, so logits are decisive."""
    rng = random.Random(seed)
    pool = ["the", "sat", "on", "mat", "playing", "cafe", "naive", "東京", "zq", "xkcd", "a"]
    texts, labels = [], []
    for _ in range(n):
        words = [rng.choice(pool) for _ in range(rng.randint(1, 12))]
        label = rng.randrange(3)
        if label < 2:
            words.insert(rng.randrange(len(words) + 1), ("cat", "dog")[label])
        texts.append(" ".join(words))
        labels.append(label)
    return texts, np.array(labels)


CALIBRATION_TEXTS = sentences(128, seed=1)[0]
VERIFY_TEXTS = sentences(240, seed=2)[0] + ODD_TEXTS


def tiny_config(**overrides):
    values = dict(
        vocab_size=len(VOCAB),
        hidden_size=32,
        num_layers=2,
        num_heads=2,
        intermediate_size=64,
        max_length=64,
        dropout=0.0,
        attention_dropout=0.0,
    )
    return EncoderConfig(**{**values, **overrides})


def train_text_classifier(tokenizer):
    """A classifier of `sentences` trained until its logits are decisive."""
    import keras

    keras.utils.set_random_seed(0)
    texts, labels = sentences(1024, seed=0)
    model = build_classifier(Encoder(tiny_config()), 3, sequence_length=SEQ, dropout=0.0)
    return fit_briefly(model, ids(tokenizer, texts), labels)


@pytest.fixture(scope="module")
def float_export(classifier, tokenizer, tmp_path_factory):
    path = tmp_path_factory.mktemp("text") / "model.tflite"
    return path, export_text_model(classifier, tokenizer, path, verify_texts=ODD_TEXTS)


@pytest.fixture(scope="module")
def int8_exports(trained_classifier, tokenizer, tmp_path_factory):
    """The trained classifier exported int8 strings-in and ids-in, same calibration texts."""
    directory = tmp_path_factory.mktemp("int8")
    strings_in = export_text_model(
        trained_classifier,
        tokenizer,
        directory / "text.tflite",
        "int8",
        representative_texts=CALIBRATION_TEXTS,
        verify_texts=VERIFY_TEXTS,
    )
    ids_in = export_tflite(
        trained_classifier,
        directory / "ids.tflite",
        "int8",
        representative_inputs=[ids(tokenizer, CALIBRATION_TEXTS)],
        verify_inputs=[ids(tokenizer, VERIFY_TEXTS)],
    )
    return strings_in, ids_in


def ids(tokenizer, texts):
    return {k: v.numpy() for k, v in tokenizer(tf.constant(texts)).items()}


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


@pytest.mark.parametrize("sequence_length", [3, 4, 7, SEQ])
def test_one_text_packing_matches_python_tokenizer(sequence_length):
    tokenizer = WordPieceTokenizer(VOCAB, sequence_length=sequence_length)
    for text, pair in zip(ODD_TEXTS, PAIR_TEXTS):
        for text_pair in (None, tf.constant([pair])):
            want = tokenizer(tf.constant([text]), text_pair)
            got = encode_one_text(tokenizer, tf.constant([text]), text_pair)
            for name in want:
                np.testing.assert_array_equal(got[name], want[name], err_msg=f"{name}: {text!r}")


def test_float_text_model_matches_python_tokenizer_on_odd_inputs(float_export):
    path, report = float_export
    assert report["inputs"] == ["text"]
    assert report["outputs"] == ["logits", "token_ids", "segment_ids"]
    # Only tokenizer ops are custom, and all of them have tensorflow-text TFLite kernels.
    assert set(report["custom_ops"]) == {"FastBertNormalize", "FastWordpieceTokenizeWithOffsets"}
    assert path.stat().st_size == report["size_bytes"]
    # The report is export_tflite's, written next to the model; no temp file left behind.
    assert sorted(path.parent.iterdir()) == [path.with_suffix(".json"), path]
    assert json.loads(report_path(path).read_text()) == report
    parity = report["parity"]
    assert parity["passed"] and parity["examples"] == len(ODD_TEXTS)
    assert parity["id_mismatches"] == {"token_ids": [], "segment_ids": []}
    assert parity["argmax_agreement"]["logits"] == 1.0
    assert parity["max_abs_diff"]["logits"] < 1e-4


def test_long_text_is_truncated_with_sep(float_export, tokenizer):
    interpreter = load_text_interpreter(float_export[0])
    ids = run_text_model(interpreter, [ODD_TEXTS[-1], ""])["token_ids"]
    assert ids[0, 0] == tokenizer.cls_id and ids[0, -1] == tokenizer.sep_id
    assert tokenizer.pad_id not in ids[0]
    assert ids[1, :3].tolist() == [tokenizer.cls_id, tokenizer.sep_id, tokenizer.pad_id]


def test_pair_text_model_matches(classifier, tokenizer, tmp_path):
    path = tmp_path / "pair.tflite"
    report = export_text_model(
        classifier, tokenizer, path, pair=True, verify_texts=list(zip(ODD_TEXTS, PAIR_TEXTS))
    )
    assert report["inputs"] == ["text", "text_pair"]
    assert report["parity"]["max_abs_diff"]["logits"] < 1e-4
    verify_text_model(path, classifier, tokenizer, ODD_TEXTS, PAIR_TEXTS, max_abs_diff=1e-4)


def test_dynamic_batch_text_model_matches(classifier, tokenizer, tmp_path):
    path = tmp_path / "batch.tflite"
    export_text_model(classifier, tokenizer, path, batch_size=None)
    runner = load_text_interpreter(path).get_signature_runner()
    assert runner.get_input_details()["text"]["shape_signature"].tolist() == [-1]
    verify_text_model(path, classifier, tokenizer, ODD_TEXTS, max_abs_diff=1e-4)


@pytest.mark.parametrize("mode", ["float16", "dynamic"])
def test_float_weight_modes_meet_their_tolerance(mode, trained_classifier, tokenizer, tmp_path):
    report = export_text_model(
        trained_classifier, tokenizer, tmp_path / f"{mode}.tflite", mode, verify_texts=VERIFY_TEXTS
    )
    assert report["parity"]["passed"]
    assert report["parity"]["argmax_agreement"]["logits"] >= 0.99
    assert report["tensor_types"]["FLOAT16" if mode == "float16" else "INT8"] > 0


def test_int8_text_model_agrees_with_keras(int8_exports):
    report, _ = int8_exports
    # Every weight matmul runs an int8 kernel (int8 activations, not only weights); the
    # string tensors stay as they are.
    assert {row["dtype"] for row in report["ops"] if row["op"] == "FULLY_CONNECTED"} == {"int8"}
    assert report["tensor_types"]["STRING"] > 0
    parity = report["parity"]
    assert parity["examples"] == len(VERIFY_TEXTS) >= 250
    assert parity["id_mismatches"] == {"token_ids": [], "segment_ids": []}
    # Trained logits are decisive (median top-1 margin ~5): a sound int8 export keeps nearly
    # every top-1 and moves logits by a few percent of that margin (measured: 1.0, 0.04).
    assert parity["argmax_agreement"]["logits"] >= 0.98
    assert parity["max_abs_diff"]["logits"] < 0.05 * parity["median_margin"]["logits"]


def test_int8_text_model_is_the_ids_in_export_behind_a_tokenizer(int8_exports, tokenizer):
    strings_in, ids_in = int8_exports
    # Same float islands, same calibration passes, same quantized ops: the strings-in
    # histogram is the ids-in one plus the tokenizer's (which has no float compute).
    assert strings_in["float_ops"] == ids_in["float_ops"]
    assert "FULLY_CONNECTED" not in strings_in["float_ops"]
    assert strings_in["calibration"] == ids_in["calibration"]
    front = op_histogram(convert(build_tokenizer_module(tokenizer), "float", custom_ops=True))
    assert sum(row["count"] for row in front) == 17  # the one-text packer (README)
    custom = [row for row in front if not row["op"].isupper()]  # builtins are UPPER_CASE
    assert sorted((row["op"], row["count"]) for row in custom) == [
        ("FastBertNormalize", 1),
        ("FastWordpieceTokenizeWithOffsets", 1),
    ]  # tensorflow-text's two; the other 15 are builtins
    assert histogram(strings_in["ops"]) == histogram(ids_in["ops"]) + histogram(front)
    # And it computes the same numbers as the ids-in model.
    got = run_text_model(load_text_interpreter(strings_in["tflite_path"]), VERIFY_TEXTS)
    runner = TFLiteModelRunner(Path(ids_in["tflite_path"]).read_bytes())
    want = runner(ids(tokenizer, VERIFY_TEXTS))
    np.testing.assert_allclose(got["logits"], want, atol=1e-6)


def histogram(rows):
    return collections.Counter({(row["op"], row["dtype"]): row["count"] for row in rows})


def test_per_token_outputs_are_compared_on_real_tokens(tokenizer, tmp_path):
    model = build_intent_slot_model(Encoder(tiny_config()), 4, 5, sequence_length=SEQ)
    path = tmp_path / "joint.tflite"
    report = export_text_model(model, tokenizer, path, "dynamic", verify_texts=ODD_TEXTS)
    assert report["outputs"] == ["intent_logits", "slot_logits", "token_ids", "segment_ids"]
    got = run_text_model(load_text_interpreter(path), ODD_TEXTS)
    encoded = ids(tokenizer, ODD_TEXTS)
    want = {k: np.asarray(v) for k, v in model(encoded).items()}
    got = {name: got[name] for name in want}
    masked = compare_outputs(want, got, encoded["padding_mask"])
    assert report["parity"]["max_abs_diff"] == pytest.approx(masked["max_abs_diff"])
    assert report["parity"]["argmax_agreement"] == pytest.approx(masked["argmax_agreement"])


def test_int8_needs_representative_texts(classifier, tokenizer, tmp_path):
    with pytest.raises(ConfigError, match="representative data"):
        export_text_model(classifier, tokenizer, tmp_path / "x.tflite", mode="int8")
    assert not list(tmp_path.iterdir())


def test_tokenizer_mismatch_raises_with_the_numbers(float_export, classifier):
    cased = WordPieceTokenizer(VOCAB, sequence_length=SEQ, lower_case=False)
    expected = rf"token_ids differ on \d+ of {len(ODD_TEXTS)} texts"
    with pytest.raises(TextModelParityError, match=expected):
        verify_text_model(float_export[0], classifier, cased, ODD_TEXTS)


def test_other_weights_raise(float_export, tokenizer):
    other = build_classifier(Encoder(tiny_config()), 3, sequence_length=SEQ)
    with pytest.raises(TextModelParityError, match="logits: max abs diff"):
        verify_text_model(float_export[0], other, tokenizer, ODD_TEXTS[:3])


def test_failed_export_keeps_its_files(classifier, tokenizer, tmp_path):
    path = tmp_path / "f.tflite"
    with pytest.raises(TextModelParityError, match=r"argmax agreement 1\.0000 < 1\.5"):
        export_text_model(classifier, tokenizer, path, verify_texts=ODD_TEXTS, min_agreement=1.5)
    assert json.loads(report_path(path).read_text())["parity"]["passed"] is False
    assert path.exists()


def test_converter_takes_a_module_but_calibrates_builtin_graphs_only(tokenizer):
    module = build_tokenizer_module(tokenizer)
    with pytest.raises(ConfigError, match="builtin kernels only"):
        convert(module, "int8", representative_inputs=[{"text": [b"the cat"]}], custom_ops=True)


def test_split_text_model_runs_the_tokenizer_as_its_own_signature(
    float_export, classifier, tokenizer, tmp_path
):
    from tfcompress.latency.host_timing import measure_latency
    from tfcompress.latency.sentence_timer import text_feeds, time_sentences

    joined_path, _ = float_export
    path = tmp_path / "split.tflite"
    report = export_text_model(classifier, tokenizer, path, verify_texts=ODD_TEXTS, split=True)
    assert report["signatures"] == ["tokenize", "serving_default"]
    assert report["parity"]["passed"] is True
    assert report["parity"]["id_mismatches"] == {"token_ids": [], "segment_ids": []}
    interpreter = load_text_interpreter(path)
    encoder = interpreter.get_signature_runner("serving_default").get_input_details()
    assert sorted(encoder) == ["padding_mask", "segment_ids", "token_ids"]
    # The same encoder as the joined export: the same numbers for the same texts.
    got = run_text_model(interpreter, VERIFY_TEXTS)
    want = run_text_model(load_text_interpreter(joined_path), VERIFY_TEXTS)
    np.testing.assert_allclose(got["logits"], want["logits"], atol=1e-6)
    np.testing.assert_array_equal(got["token_ids"], want["token_ids"])
    # The timers run both signatures, one text at a time.
    assert time_sentences(path, text_feeds(ODD_TEXTS[:3]), rounds=2)["sentences"] == 3
    latency = measure_latency(path, threads=(1,), runs=3, warmup=1)
    assert latency["signature"] == "tokenize+serving_default"


def test_split_text_model_with_length_buckets(classifier, tokenizer, tmp_path):
    report = export_text_model(
        classifier,
        tokenizer,
        tmp_path / "split_buckets.tflite",
        verify_texts=ODD_TEXTS,
        buckets=(8,),
        split=True,
    )
    assert report["buckets"] == [8, SEQ]
    assert report["parity"]["passed"] is True
    assert sum(b["examples"] for b in report["parity"]["by_bucket"].values()) == len(ODD_TEXTS)
