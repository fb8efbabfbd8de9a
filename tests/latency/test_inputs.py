"""Synthetic inputs by role, and the caller's own inputs checked against the model."""

import numpy as np
import pytest

from tests.latency.helpers import VOCAB
from tfcompress.latency.errors import LatencyError
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


def test_measure_latency_accepts_given_inputs(tiny_tflite):
    inputs = {
        "token_ids": np.full((2, 8), VOCAB - 1, np.int32),
        "padding_mask": np.ones((2, 8), np.int32),
    }
    report = measure_latency(tiny_tflite, threads=(1,), runs=2, warmup=0, inputs=inputs)
    assert {i["name"]: i["shape"] for i in report["inputs"]}["token_ids"] == [2, 8]


def test_measure_latency_rejects_wrong_input_names(tiny_tflite):
    with pytest.raises(LatencyError, match="token_ids"):
        measure_latency(tiny_tflite, threads=(1,), runs=1, inputs={"input_ids": np.ones((1, 8))})
