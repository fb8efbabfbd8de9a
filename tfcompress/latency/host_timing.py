"""Latency of a .tflite on this host: one freshly loaded interpreter per thread count, timed
with time.perf_counter, plus the memory each one took."""

import gc
import os
import time
from pathlib import Path

import numpy as np

from tfcompress.latency.errors import LatencyError
from tfcompress.latency.inputs import check_inputs, default_inputs, describe_inputs
from tfcompress.latency.interpreters import (
    InterpreterSession,
    interpreter_module,
    interpreter_version,
    open_interpreter,
    open_resolving_custom_ops,
)
from tfcompress.latency.memory import rss_window_fields, start_rss_window
from tfcompress.latency.provenance import describe_device, utc_now


def summarize_ms(times_ms):
    """mean/min/p50/p90/p99 of per-run times (numpy's linear-interpolation percentiles)."""
    times = np.asarray(times_ms, dtype=np.float64)
    p50, p90, p99 = np.percentile(times, [50, 90, 99])
    return {
        "mean_ms": float(times.mean()),
        "min_ms": float(times.min()),
        "p50_ms": float(p50),
        "p90_ms": float(p90),
        "p99_ms": float(p99),
        "max_ms": float(times.max()),
        "std_ms": float(times.std()),
    }


def _time_runs(session, runs, warmup):
    for _ in range(warmup):
        session.run()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        session.run()
        times.append((time.perf_counter() - start) * 1e3)
    return times


def _measure_thread_count(open_session, threads, inputs, runs, warmup):
    """Load a fresh interpreter with `threads`, warm it up, time `runs` calls, and read the
    memory it took (see memory.rss_window_fields)."""
    window = start_rss_window()
    session = open_session(threads)
    session.feed(inputs)
    times = _time_runs(session, runs, warmup)
    memory = rss_window_fields(window)
    del session
    gc.collect()
    result = {"threads": int(threads), "runs": int(runs), "warmup": int(warmup)}
    result.update(summarize_ms(times))
    result.update(memory)
    return result


def _check_counts(threads, runs, warmup):
    if not threads or any(int(n) < 1 for n in threads):
        raise LatencyError(f"threads must be a non-empty list of counts >= 1, got {threads!r}")
    if int(runs) < 1 or int(warmup) < 0:
        raise LatencyError(f"need runs >= 1 and warmup >= 0, got runs={runs} warmup={warmup}")


def _check_model_file(model_path):
    path = Path(model_path)
    if not path.is_file():
        raise LatencyError(f"{model_path}: no such model file")
    return path


def _probe(module, path, custom_ops, inputs, seed, real_tokens=None):
    """Open the model once to settle custom ops, the signature and the inputs.

    Returns (inputs, custom_ops_used, timed call, signature); the probe interpreter is freed
    on return, so its memory does not count towards the first thread count.
    """
    interp, custom_ops = open_resolving_custom_ops(module, path, 1, custom_ops)
    session = InterpreterSession(interp)
    feed = check_inputs(inputs, session) if inputs else default_inputs(session, seed, real_tokens)
    return feed, custom_ops, session.timed, session.signature


def measure_latency(
    model_path,
    threads=(1, 2, 4),
    runs=100,
    warmup=10,
    interpreter="litert",
    inputs=None,
    seed=0,
    custom_ops=None,
    real_tokens=None,
):
    """Time a .tflite on this host for each thread count; returns the latency JSON dict.

    Each thread count gets a freshly loaded interpreter (the thread count is fixed at
    construction), `warmup` untimed calls, then `runs` calls each timed with
    time.perf_counter. `inputs` (name -> array) defaults to make_inputs(). custom_ops:
    None loads tensorflow-text kernels only when the model has an unresolved custom op,
    True always, False never. `real_tokens`: synthetic ids with only that many real tokens
    (the rest padding), e.g. to time one bucket of a length-bucketed model.
    """
    _check_counts(threads, runs, warmup)
    path = _check_model_file(model_path)
    module = interpreter_module(interpreter)
    feed, custom_ops, timed, signature = _probe(module, path, custom_ops, inputs, seed, real_tokens)
    started = utc_now()

    def open_session(n):
        return InterpreterSession(open_interpreter(module, path, n, custom_ops))

    results = [_measure_thread_count(open_session, n, feed, runs, warmup) for n in threads]
    return {
        "model": str(model_path),
        "model_size_bytes": path.stat().st_size,
        "interpreter": interpreter,
        "interpreter_version": interpreter_version(interpreter),
        "device": describe_device(),
        "cpu_count": os.cpu_count(),
        "date": started,
        "signature": signature,
        "real_tokens": real_tokens,
        "timed": timed,
        "custom_ops": custom_ops,
        "inputs": describe_inputs(feed),
        "results": results,
    }
