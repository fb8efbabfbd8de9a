"""`profile_ops`: per-operator timings of a .tflite model, one entry per operator kind."""

import math

import numpy as np
import pytest
from ai_edge_litert.tools import flatbuffer_utils

from tests.export.conftest import build_tiny_classifier, make_batch
from tfcompress.export.converter import convert
from tfcompress.export.op_profile import (
    format_profile,
    profile_ops,
    shape_matched_floor,
    summarize_by_op,
)


@pytest.fixture(scope="module")
def tiny_model():
    return build_tiny_classifier()


@pytest.fixture(scope="module")
def int8_content(tiny_model, export_data):
    calibration, _ = export_data
    return convert(tiny_model, "int8", representative_inputs=calibration)


@pytest.fixture(scope="module")
def float_content(tiny_model):
    return convert(tiny_model, "float")


@pytest.fixture(scope="module")
def one_example():
    # Explicit inputs: the tiny model's vocabulary (60) is smaller than generic token ids.
    inputs, _ = make_batch(np.random.default_rng(3), 1)
    return inputs


def _operator_count(content):
    model = flatbuffer_utils.convert_bytearray_to_object(content)
    return len(model.subgraphs[0].operators)


@pytest.fixture(scope="module")
def int8_profile(int8_content, one_example):
    return profile_ops(int8_content, inputs=one_example, runs=3)


def test_profile_counts_every_operator_once(int8_content, int8_profile):
    ops = int8_profile["ops"]
    assert ops
    assert sum(t.count for t in ops) == _operator_count(int8_content)
    assert all(t.count >= 1 for t in ops)


def test_profile_timings_are_sane(int8_profile):
    assert int8_profile["num_threads"] == 1
    assert int8_profile["call_overhead_ms"] >= 0
    assert all(t.ms_each >= 0 and math.isfinite(t.ms_each) for t in int8_profile["ops"])
    assert int8_profile["total_ms"] >= 0
    assert int8_profile["total_ms"] == pytest.approx(sum(t.ms_total for t in int8_profile["ops"]))
    totals = [t.ms_total for t in int8_profile["ops"]]
    assert totals == sorted(totals, reverse=True)


def test_int8_model_has_int8_fully_connected(int8_profile):
    fully_connected = [t for t in int8_profile["ops"] if t.op == "FULLY_CONNECTED"]
    assert fully_connected
    assert any(t.input_dtype == "int8" for t in fully_connected)
    assert all(t.input_dtype != "float32" for t in fully_connected)


def test_shape_matched_floor_sums_the_matmuls(int8_profile):
    floor = shape_matched_floor(int8_profile)
    by_op = {row["op"]: row["ms"] for row in summarize_by_op(int8_profile)}
    assert floor["fully_connected_ms"] == pytest.approx(by_op["FULLY_CONNECTED"])
    assert floor["batch_matmul_ms"] == pytest.approx(by_op.get("BATCH_MATMUL", 0.0))
    assert floor["floor_ms"] == pytest.approx(
        floor["fully_connected_ms"] + floor["batch_matmul_ms"]
    )
    assert floor["floor_ms"] <= int8_profile["total_ms"] + 1e-12


def test_summary_shares_sum_to_one(int8_profile):
    rows = summarize_by_op(int8_profile)
    assert sum(r["count"] for r in rows) == sum(t.count for t in int8_profile["ops"])
    # A tiny model's ops can all time at the noise floor (total 0): then every share is 0.
    expected = 1.0 if int8_profile["total_ms"] > 0 else 0.0
    assert sum(r["share"] for r in rows) == pytest.approx(expected, abs=1e-6)
    assert all(0 <= r["delegated"] <= r["count"] for r in rows)
    assert len({(r["op"], r["dtype"]) for r in rows}) == len(rows)


def test_format_profile_is_a_markdown_table(int8_profile):
    text = format_profile(int8_profile)
    lines = text.splitlines()
    assert lines[0].startswith("| op |")
    assert "FULLY_CONNECTED" in text
    assert lines[-1].startswith("| **sum** |")
    assert len(format_profile(int8_profile, top=1).splitlines()) == 4


def test_float_model_profile(float_content, one_example):
    profile = profile_ops(float_content, inputs=one_example, runs=3, num_threads=2)
    assert profile["num_threads"] == 2
    assert sum(t.count for t in profile["ops"]) == _operator_count(float_content)
    fully_connected = [t for t in profile["ops"] if t.op == "FULLY_CONNECTED"]
    assert fully_connected and all(t.input_dtype == "float32" for t in fully_connected)
    assert all(t.ms_each >= 0 for t in profile["ops"])


def _wide_classifier():
    """Wide enough that a matmul costs well above one interpreter call (the tiny one does not)."""
    wide = {"hidden_size": 256, "num_layers": 1, "num_heads": 4, "intermediate_size": 1024}
    return build_tiny_classifier(wide)


def test_a_wide_model_has_positive_time_dominated_by_matmuls(export_data, one_example):
    calibration, _ = export_data
    content = convert(_wide_classifier(), "int8", representative_inputs=calibration)
    profile = profile_ops(content, inputs=one_example, runs=5)
    assert sum(t.count for t in profile["ops"]) == _operator_count(content)
    assert profile["total_ms"] > 0
    rows = summarize_by_op(profile)
    fully_connected = [r for r in rows if r["op"] == "FULLY_CONNECTED" and r["dtype"] == "int8"]
    assert fully_connected and fully_connected[0]["ms"] > 0
    assert sum(r["share"] for r in rows) == pytest.approx(1.0, abs=1e-6)
