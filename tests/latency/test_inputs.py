"""Synthetic inputs by role, and the caller's own inputs checked against the model."""

import numpy as np

from tfcompress.latency.host_timing import measure_latency
from tfcompress.latency.inputs import make_inputs


def test_make_inputs_by_role():
    def detail(shape, dtype):
        return {"shape": np.array(shape), "shape_signature": np.array(shape), "dtype": dtype}

    inputs = make_inputs(
        {
            "token_ids": detail([-1, 16], np.int32),
            "padding_mask": detail([-1, 16], np.int32),
            "segment_ids": detail([-1, 16], np.int32),
            "features": detail([1, 4], np.float32),
            "text": detail([-1], np.bytes_),
        },
        vocab_size=30,
    )
    assert inputs["token_ids"].shape == (1, 16)
    assert 1 <= inputs["token_ids"].min() and inputs["token_ids"].max() < 30
    assert (inputs["padding_mask"] == 1).all() and (inputs["segment_ids"] == 0).all()
    assert inputs["features"].dtype == np.float32
    assert inputs["text"].shape == (1,) and b"quick brown fox" in inputs["text"][0]


def test_real_tokens_leave_the_rest_padding():
    detail = {"shape": np.array([1, 16]), "shape_signature": np.array([1, 16]), "dtype": np.int32}
    names = ("token_ids", "padding_mask", "segment_ids")
    inputs = make_inputs(dict.fromkeys(names, detail), real_tokens=5)
    assert inputs["padding_mask"][0].tolist() == [1] * 5 + [0] * 11
    assert (inputs["token_ids"][0, :5] > 0).all() and (inputs["token_ids"][0, 5:] == 0).all()
    assert (inputs["segment_ids"] == 0).all()


def test_real_tokens_reach_the_bucket_that_fits_them(tmp_path):
    """Synthetic inputs with 3 real tokens run a bucketed export's 4-token bucket (its
    per-token output is 4 long); with every position real, the longest."""
    from ai_edge_litert.interpreter import Interpreter

    from tests.export.test_text_model import SEQ, tiny_config
    from tfcompress.export.tflite_export import export_tflite
    from tfcompress.models import Encoder, build_tagger

    path = tmp_path / "buckets.tflite"
    export_tflite(build_tagger(Encoder(tiny_config()), 3, SEQ), path, "float", buckets=(4,))
    runner = Interpreter(model_path=str(path)).get_signature_runner()
    for real_tokens, length in ((3, 4), (None, SEQ)):
        inputs = make_inputs(runner.get_input_details(), real_tokens=real_tokens)
        (output,) = runner(**inputs).values()
        assert output.shape == (1, length, 3)
    report = measure_latency(path, threads=(1,), runs=3, warmup=1, real_tokens=3)
    assert report["real_tokens"] == 3
