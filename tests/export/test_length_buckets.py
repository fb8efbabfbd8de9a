"""Length-bucketed exports: one .tflite, each input run at the shortest length that fits it."""

import itertools

import numpy as np
import pytest

from tests.export.test_text_model import (
    CALIBRATION_TEXTS,
    ODD_TEXTS,
    PAIR_TEXTS,
    SEQ,
    VERIFY_TEXTS,
    ids,
    tiny_config,
)
from tfcompress.errors import ConfigError
from tfcompress.export.length_buckets import at_length, bucket_lengths, fitted_buckets
from tfcompress.export.text_model import export_text_model, load_text_interpreter, run_text_model
from tfcompress.export.tflite_export import export_tflite
from tfcompress.export.tflite_model_runner import TFLiteModelRunner
from tfcompress.models import Encoder, build_intent_slot_model

BUCKETS = (4, 8)  # with SEQ = 16: buckets 4, 8 and 16


def test_bucket_lengths_end_at_the_sequence_length():
    assert bucket_lengths(128) == (16, 32, 64, 128)
    assert bucket_lengths(32, (64, 16, 16)) == (16, 32)
    assert bucket_lengths(16, ()) == (16,)
    with pytest.raises(ConfigError, match="at least 2"):
        bucket_lengths(16, (1, 8))


def mean_padded_length(lengths, buckets, sequence_length):
    edges = np.array(sorted(buckets) + [sequence_length])
    return edges[np.searchsorted(edges, np.minimum(lengths, sequence_length))].mean()


@pytest.mark.parametrize("seed", range(5))
def test_fitted_buckets_are_the_best_of_every_choice(seed):
    rng = np.random.default_rng(seed)
    lengths = rng.poisson(rng.uniform(4, 20), size=200) + 2  # some past the sequence length
    candidates = range(4, 32, 4)
    best = min(
        mean_padded_length(lengths, chosen, 32)
        for count in range(4)
        for chosen in itertools.combinations(candidates, count)
    )
    fitted = fitted_buckets(lengths, 32, count=3)
    assert len(fitted) <= 3 and all(length % 4 == 0 and length < 32 for length in fitted)
    assert mean_padded_length(lengths, list(fitted), 32) == pytest.approx(best)


def test_fitted_buckets_on_hand_made_lengths():
    assert fitted_buckets([11] * 50 + [17] * 10 + [25], 48) == (12, 20, 28)
    assert fitted_buckets([3, 7, 11, 15], 48, count=2) == (8, 16)
    assert fitted_buckets([5] * 10, 48) == (8,)  # more buckets would not shorten anything
    assert fitted_buckets([48, 60], 48) == ()
    with pytest.raises(ConfigError, match="at least one input length"):
        fitted_buckets([], 48)


def test_at_length_needs_a_task_model():
    import keras

    inputs = keras.Input((4,), dtype="int32", name="token_ids")
    with pytest.raises(ConfigError, match="TaskModel"):
        at_length(keras.Model(inputs, keras.layers.Embedding(9, 2)(inputs)), 2)


def test_at_length_stops_at_the_position_table(classifier):
    with pytest.raises(ConfigError, match="past the encoder's 64 positions"):
        at_length(classifier, 65)


@pytest.fixture(scope="module")
def intent_slot():
    import keras

    keras.utils.set_random_seed(1)
    return build_intent_slot_model(Encoder(tiny_config()), 4, 5, sequence_length=SEQ, dropout=0.0)


def inputs_of_length(rng, real_tokens, rows=3):
    """Batch of ids with exactly `real_tokens` real tokens per row, padded to SEQ."""
    token_ids = rng.integers(5, 40, (rows, SEQ)).astype("int32")
    mask = (np.arange(SEQ) < real_tokens).astype("int32")[None].repeat(rows, 0)
    return {"token_ids": token_ids * mask, "segment_ids": np.zeros_like(mask), "padding_mask": mask}


@pytest.fixture(scope="module")
def float_buckets(intent_slot, tmp_path_factory):
    path = tmp_path_factory.mktemp("buckets") / "model.tflite"
    report = export_tflite(intent_slot, path, "float", buckets=BUCKETS)
    assert report["buckets"] == [4, 8, 16]
    return path


@pytest.mark.parametrize("real_tokens", [2, 4, 5, 8, 9, 16])
def test_each_input_runs_in_the_shortest_bucket_that_fits(intent_slot, float_buckets, real_tokens):
    """Slot logits come back at the bucket's length, and match Keras run at that length on
    real tokens; Keras at that length matches Keras at the full length (float noise)."""
    interpreter_runner = TFLiteModelRunner(float_buckets.read_bytes())._runner
    inputs = inputs_of_length(np.random.default_rng(real_tokens), real_tokens, rows=1)
    bucket = next(length for length in (4, 8, 16) if real_tokens <= length)
    got = interpreter_runner(**inputs)
    assert got["slot_logits"].shape == (1, bucket, 5)
    short = {name: value[:, :bucket] for name, value in inputs.items()}
    at_bucket = at_length(intent_slot, bucket)(short)
    full = intent_slot(inputs)
    real = slice(0, real_tokens)
    for name in ("intent_logits", "slot_logits"):
        want = np.asarray(at_bucket[name])
        np.testing.assert_allclose(got[name][:, real], want[:, real], atol=1e-5, err_msg=name)
        np.testing.assert_allclose(
            want[:, real], np.asarray(full[name])[:, :bucket][:, real], atol=1e-5, err_msg=name
        )


def test_int8_buckets_share_their_weights_and_pass_parity(trained_classifier, tokenizer, tmp_path):
    report = export_tflite(
        trained_classifier,
        tmp_path / "int8.tflite",
        "int8",
        representative_inputs=[ids(tokenizer, CALIBRATION_TEXTS)],
        verify_inputs=[ids(tokenizer, VERIFY_TEXTS)],
        buckets=BUCKETS,
    )
    parity = report["parity"]
    assert parity["passed"] and parity["argmax_agreement"]["logits"] >= 0.95
    by_bucket = parity["by_bucket"]
    assert set(by_bucket) == {"4", "8", "16"}  # the verification texts reach every bucket
    assert sum(bucket["examples"] for bucket in by_bucket.values()) == parity["examples"]
    weights = fc_weight_buffers(tmp_path / "int8.tflite")
    assert sorted(weights) == ["bucket_16", "bucket_4", "bucket_8"]
    # Every bucket's int8 FC weights are one set of buffers: equalization scales are shared.
    assert weights["bucket_4"] == weights["bucket_8"] == weights["bucket_16"]
    assert len(weights["bucket_16"]) >= 6
    # The report's op histogram covers the bucket subgraphs: int8 FCs in each, float islands.
    fully_connected = [row for row in report["ops"] if row["op"] == "FULLY_CONNECTED"]
    assert {row["dtype"] for row in fully_connected} == {"int8"}
    assert sum(row["count"] for row in fully_connected) == 3 * len(weights["bucket_16"])
    assert {"BATCH_MATMUL", "SOFTMAX"} <= set(report["float_ops"])


def fc_weight_buffers(path) -> dict[str, set[int]]:
    from ai_edge_litert.tools import flatbuffer_utils

    model = flatbuffer_utils.convert_bytearray_to_object(path.read_bytes())
    buffers = {}
    for graph in model.subgraphs:
        for op in graph.operators:
            if flatbuffer_utils.opcode_to_name(model, op.opcodeIndex) == "FULLY_CONNECTED":
                weight = graph.tensors[op.inputs[1]]
                buffers.setdefault(graph.name.decode(), set()).add(weight.buffer)
    return buffers


@pytest.mark.parametrize("pair", [False, True])
def test_strings_in_buckets_match_keras_on_the_python_tokenizer(
    intent_slot, tokenizer, tmp_path, pair
):
    texts = ODD_TEXTS + CALIBRATION_TEXTS[:20]
    verify = (
        list(zip(texts, list(reversed(PAIR_TEXTS)) + CALIBRATION_TEXTS[20:40])) if pair else texts
    )
    path = tmp_path / "text.tflite"
    report = export_text_model(
        intent_slot, tokenizer, path, pair=pair, verify_texts=verify, buckets=BUCKETS
    )
    parity = report["parity"]
    assert parity["passed"] and parity["id_mismatches"] == {"token_ids": [], "segment_ids": []}
    assert max(parity["max_abs_diff"].values()) < 1e-4
    assert report["buckets"] == [4, 8, 16]
    # Each text ran at the shortest bucket that fits its tokens.
    runner = load_text_interpreter(path).get_signature_runner()
    for text in ["", "the cat", "the cat sat on the mat playing"]:
        feeds = {"text": np.array([text.encode()], dtype=object)}
        if pair:
            feeds["text_pair"] = np.array([b"dog"], dtype=object)
        out = runner(**feeds)
        real = int((out["token_ids"] != tokenizer.pad_id).sum())
        assert out["slot_logits"].shape[1] == next(n for n in (4, 8, 16) if real <= n)


def test_bucketed_text_model_runs_batches_of_texts(classifier, tokenizer, tmp_path):
    path = tmp_path / "text.tflite"
    export_text_model(classifier, tokenizer, path, buckets=BUCKETS)
    outputs = run_text_model(load_text_interpreter(path), VERIFY_TEXTS[:10])
    want = classifier(ids(tokenizer, VERIFY_TEXTS[:10]))
    np.testing.assert_allclose(outputs["logits"], want, atol=1e-4)


def test_text_buckets_need_batch_one(classifier, tokenizer, tmp_path):
    with pytest.raises(ConfigError, match="batch_size must be 1"):
        export_text_model(
            classifier, tokenizer, tmp_path / "m.tflite", batch_size=None, buckets=BUCKETS
        )


def test_keras_outputs_on_real_tokens_do_not_depend_on_the_length(intent_slot):
    rng = np.random.default_rng(3)
    inputs = inputs_of_length(rng, 6)
    full = intent_slot(inputs)
    short = at_length(intent_slot, 8)({name: value[:, :8] for name, value in inputs.items()})
    np.testing.assert_allclose(full["intent_logits"], short["intent_logits"], atol=1e-5)
    np.testing.assert_allclose(
        np.asarray(full["slot_logits"])[:, :6], np.asarray(short["slot_logits"])[:, :6], atol=1e-5
    )


def test_one_length_runs_the_encoder_behind_an_always_true_if(classifier, tokenizer):
    """A one-length model (the strings-in overhead benchmark's "encoder in IF" layout)
    computes what the joined one does."""
    from tfcompress.export.length_buckets import convert_bucketed
    from tfcompress.export.text_model import ID_OUTPUTS, build_tokenizer_module

    content = convert_bucketed(
        classifier,
        "float",
        (SEQ,),
        front=build_tokenizer_module(tokenizer, False, 1, (SEQ,)),
        front_custom_ops=True,
        keep_outputs=ID_OUTPUTS,
        renamed={"output_0": "logits"},
    )
    got = run_text_model(load_text_interpreter(content), VERIFY_TEXTS[:20])
    want = classifier(ids(tokenizer, VERIFY_TEXTS[:20]))
    np.testing.assert_allclose(got["logits"], want, atol=1e-4)
