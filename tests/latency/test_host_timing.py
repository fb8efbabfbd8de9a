"""measure_latency on this host with LiteRT: the report's schema, per-thread results, errors."""

import pytest

from tests.latency.helpers import check_schema
from tfcompress.latency.errors import LatencyError
from tfcompress.latency.host_timing import measure_latency


def test_measure_latency_schema_and_order(tiny_tflite):
    report = measure_latency(tiny_tflite, threads=(1, 2), runs=5, warmup=2)
    check_schema(report, "litert")
    assert report["model_size_bytes"] == tiny_tflite.stat().st_size
    assert report["date"].endswith("+00:00")
    assert report["signature"] == "serving_default" and report["custom_ops"] is False
    assert {i["name"]: i["shape"] for i in report["inputs"]} == {
        "padding_mask": [1, 8],
        "token_ids": [1, 8],
    }
    assert [r["threads"] for r in report["results"]] == [1, 2]
    for r in report["results"]:
        assert r["runs"] == 5 and r["warmup"] == 2
        assert 0 < r["min_ms"] <= r["p50_ms"] <= r["p90_ms"] <= r["p99_ms"] <= r["max_ms"]
        assert r["mean_ms"] > 0
        assert r["peak_rss_mb"] > 0 and r["rss_delta_mb"] is not None


def test_measure_latency_bad_model_file(tmp_path):
    with pytest.raises(LatencyError, match="no such model file"):
        measure_latency(tmp_path / "missing.tflite", threads=(1,), runs=1)
    junk = tmp_path / "junk.tflite"
    junk.write_bytes(b"not a flatbuffer")
    with pytest.raises(LatencyError, match="cannot load"):
        measure_latency(junk, threads=(1,), runs=1)
