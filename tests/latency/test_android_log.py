"""The benchmark_model log parser, on saved real-format logs."""

import pytest

from tests.latency.helpers import check_schema, parse_log
from tfcompress.latency.android_log import parse_benchmark_model_output
from tfcompress.latency.errors import LatencyError


def test_parse_old_format_without_percentiles():
    report = parse_log("old_format_no_percentiles.txt", device="Pixel 4", date="2020-06-01")
    check_schema(report, "benchmark_model")
    assert report["model"] == "/data/local/tmp/student_float.tflite"
    assert report["model_size_bytes"] == 17_452_800  # the log's "17.4528" MB are 10^6 bytes
    assert not any("mb" in key for key in report)  # no 10^6-byte "MB" is passed on
    (r,) = report["results"]
    assert (r["threads"], r["runs"], r["warmup"]) == (4, 50, 1)  # warm-up line is `count=1 curr=`
    assert r["mean_ms"] == pytest.approx(2950.34) and r["min_ms"] == pytest.approx(2727.568)
    assert r["p50_ms"] == r["mean_ms"] and r["p50_is_mean"] is True
    assert r["p90_ms"] is None and r["p99_ms"] is None
    assert r["rss_delta_mb"] == pytest.approx(46.0859) and r["peak_rss_mb"] is None
    assert r["xnnpack"] is False and r["init_ms"] == pytest.approx(38.164)


def test_parse_new_format_with_median_and_memory():
    (r,) = parse_log("new_format_percentiles_memory.txt")["results"]
    assert (r["threads"], r["runs"], r["warmup"]) == (4, 100, 43)
    assert r["mean_ms"] == pytest.approx(11.6128)
    assert r["p50_ms"] == pytest.approx(11.433) and r["p50_is_mean"] is False
    assert r["p95_ms"] == pytest.approx(12.604) and r["p90_ms"] is None
    assert r["peak_rss_mb"] == pytest.approx(27.3516)
    assert r["rss_delta_mb"] == pytest.approx(21.8164)
    assert r["xnnpack"] is True


def test_parse_ignores_op_profiling_summaries():
    (r,) = parse_log("new_format_op_profiling.txt")["results"]
    assert (r["threads"], r["runs"], r["warmup"]) == (2, 54, 27)
    assert r["mean_ms"] == pytest.approx(18.6904)  # not the profiler's 18.6458


def test_parse_crashed_run_raises_with_last_lines():
    with pytest.raises(LatencyError) as error:
        parse_log("crashed_unresolved_custom_op.txt")
    assert "Failed to allocate tensors!" in str(error.value)
    assert "\n" not in str(error.value)


def test_parse_killed_run_raises():
    text = "INFO: STARTING!\nINFO: Loaded model /data/local/tmp/m.tflite\nSegmentation fault\n"
    with pytest.raises(LatencyError, match="no timed-runs line.*Segmentation fault"):
        parse_benchmark_model_output(text)


def test_parse_logcat_lines_and_threads_argument():
    text = (
        "07-08 15:34:25.101 I/tflite  ( 5395): count=3 first=2700000 curr=2650000 "
        "min=2650000 max=2700000 avg=2.68e+06 std=20000\n"
        "07-08 15:34:26.201 I/tflite  ( 5395): count=10 first=2653894 curr=2709263 "
        "min=2640862 max=3025403 avg=2.71985e+06 std=105101 p5=2640862 median=2709263 p95=3025403\n"
    )
    (r,) = parse_benchmark_model_output(text, threads=2)["results"]
    assert (r["threads"], r["runs"], r["warmup"]) == (2, 10, 3)
    assert r["p50_ms"] == pytest.approx(2709.263)
