"""Latency and memory of a .tflite model: measured on this host with the LiteRT (or
tflite-runtime) interpreter, or parsed from the log of LiteRT's Android `benchmark_model`.

Both paths produce the same JSON so host and phone numbers sit in one table:

    {"model": str, "model_size_bytes": int, "interpreter": "litert"|"tflite_runtime"|
     "benchmark_model", "device": str, "date": str (UTC ISO 8601),
     "results": [{"threads": int, "runs": int, "warmup": int, "mean_ms": float,
                  "min_ms": float, "p50_ms": float, "p90_ms": float, "p99_ms": float,
                  "peak_rss_mb": float|None, "rss_delta_mb": float|None, ...}], ...}

Extra keys are allowed (and present); consumers must ignore keys they do not know.
This package imports neither TensorFlow nor Keras: only the interpreter package, plus
tensorflow-text when a model needs its custom ops.

Modules: interpreters (loading, custom ops, the session), inputs (synthetic inputs),
memory (RSS), provenance (device, date), host_timing (measure_latency), android_log
(benchmark_model logs), rendering (tables), cli (the mobile_eval scripts' main).
"""

from tfcompress.latency.android_log import parse_benchmark_model_output
from tfcompress.latency.cli import run_cli
from tfcompress.latency.errors import LatencyError
from tfcompress.latency.host_timing import measure_latency, summarize_ms
from tfcompress.latency.inputs import DYNAMIC_DIM, MAX_TOKEN_ID, SAMPLE_SENTENCE, make_inputs
from tfcompress.latency.interpreters import INTERPRETERS
from tfcompress.latency.provenance import describe_device, utc_now
from tfcompress.latency.rendering import print_report, report_table

__all__ = [
    "DYNAMIC_DIM",
    "INTERPRETERS",
    "MAX_TOKEN_ID",
    "SAMPLE_SENTENCE",
    "LatencyError",
    "describe_device",
    "make_inputs",
    "measure_latency",
    "parse_benchmark_model_output",
    "print_report",
    "report_table",
    "run_cli",
    "summarize_ms",
    "utc_now",
]
