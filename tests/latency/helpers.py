"""Shared by the latency tests: the report schema check, saved benchmark_model logs, and
loading the mobile_eval scripts (they are not a package)."""

import importlib.util
import json
from pathlib import Path

from tests.conftest import TINY_TFLITE_VOCAB
from tfcompress.latency.android_log import parse_benchmark_model_output

REPO = Path(__file__).resolve().parents[2]
LOGS = REPO / "tests" / "data" / "benchmark_model"
TOP_KEYS = {"model", "model_size_bytes", "interpreter", "device", "date", "results"}
RESULT_KEYS = {
    "threads",
    "runs",
    "warmup",
    "mean_ms",
    "min_ms",
    "p50_ms",
    "p90_ms",
    "p99_ms",
    "peak_rss_mb",
    "rss_delta_mb",
}
VOCAB = TINY_TFLITE_VOCAB


def load_script(relative):
    path = REPO / relative
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def check_schema(report, interpreter):
    assert TOP_KEYS <= set(report)
    assert report["interpreter"] == interpreter
    assert isinstance(report["model"], str) and isinstance(report["device"], str)
    assert isinstance(report["model_size_bytes"], int) and report["model_size_bytes"] > 0
    for result in report["results"]:
        assert RESULT_KEYS <= set(result)
    json.dumps(report)  # JSON-serialisable as is


def parse_log(name, **kwargs):
    return parse_benchmark_model_output((LOGS / name).read_text(), **kwargs)
