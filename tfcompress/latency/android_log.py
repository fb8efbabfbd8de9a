"""The log of LiteRT's Android `benchmark_model` (stdout+stderr or logcat) read into the
same latency JSON as host timing."""

import re

from tfcompress.latency.errors import LatencyError

_TOOL = "benchmark_model"  # the report's "interpreter"

_NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?|[-+]?(?:nan|inf)"
_STAT = re.compile(rf"\b(count|first|curr|min|max|avg|std|p5|p50|median|p90|p95|p99)=({_NUMBER})")
_PATTERNS = {
    "threads": re.compile(r"Num threads\s*: \[(-?\d+)\]"),
    "xnnpack": re.compile(r"Use xnnpack\s*: \[(\d)\]"),
    "graph": re.compile(r"Graph: \[(.*)\]"),
    "loaded": re.compile(r"Loaded model (\S+)"),
    "size_mb": re.compile(rf"The input model file size \(MB\): ({_NUMBER})"),
    "init_ms": re.compile(rf"Initialized session in ({_NUMBER})ms"),
    "memory": re.compile(
        # "Peak memory footprint" is the older name of the same ru_maxrss growth.
        rf"(?:Memory footprint delta from the start of the tool|Peak memory footprint) \(MB\): "
        rf"init=({_NUMBER}) overall=({_NUMBER})"
    ),
    "peak_mb": re.compile(
        rf"Overall peak memory footprint \(MB\) via periodic monitoring: ({_NUMBER})"
    ),
    "end_rss_mb": re.compile(r"- VmRSS\s*:\s*(\d+) MB"),
}


def _search(name, text, group=1):
    match = _PATTERNS[name].search(text)
    return match.group(group) if match else None


def _number(value):
    return None if value is None else float(value)


def _stat_lines(lines):
    """`count=` lines printed by the warm-up and timed loops, in order.

    Op-profiling summaries also print `Timings (microseconds): count=...` and
    `Memory (bytes): count=...` after the timed runs; their prefix excludes them.
    """
    stats = []
    for line in lines:
        at = line.find("count=")
        if at >= 0 and _is_log_prefix(line[:at]):
            stats.append({key: float(value) for key, value in _STAT.findall(line[at:])})
    return [s for s in stats if "count" in s]


_LOG_PREFIX = re.compile(
    r"(?:INFO:)?"  # benchmark_model on a shell
    r"|.*\b[VDIWEF]/[\w.-]+\s*\(\s*\d+\):"  # logcat -v brief / time
    r"|.*\s[VDIWEF]\s+[\w.-]+\s*:"  # logcat -v threadtime
)


def _is_log_prefix(prefix):
    """Only a log tag may precede a loop's `count=`, e.g. `INFO: ` or `I/tflite  ( 5395): `."""
    return _LOG_PREFIX.fullmatch(prefix.strip()) is not None


def _last_lines(lines, n=5):
    kept = [line.strip() for line in lines if line.strip()]
    return " | ".join(kept[-n:]) or "(empty output)"


def _fail(lines, why):
    raise LatencyError(f"benchmark_model {why}; last lines: {_last_lines(lines)}")


def _timed_stats(lines, text):
    """(warm-up stats or None, timed stats): the timed loop prints the last `count=` line."""
    stats = _stat_lines(lines)
    if "Benchmarking failed" in text:
        _fail(lines, "reported 'Benchmarking failed'")
    if not stats or (len(stats) < 2 and "Inference timings in us" not in text):
        _fail(lines, "output has no timed-runs line (the run failed or crashed)")
    timed = stats[-1]
    if timed["count"] < 1:
        _fail(lines, "made no timed runs (count=0)")
    return (stats[-2] if len(stats) >= 2 else None), timed


def _ms(stats, key):
    """A statistic in ms; an all-same line (`count=N curr=X`) has only curr."""
    value = stats.get(key, stats.get("curr") if key in ("min", "max", "avg", "first") else None)
    return None if value is None else round(value / 1000.0, 6)


def _result_from_stats(warm, timed, threads):
    p50_is_mean = "median" not in timed and "p50" not in timed
    median = timed.get("median", timed.get("p50"))
    return {
        "threads": threads,
        "runs": int(timed["count"]),
        "warmup": None if warm is None else int(warm["count"]),
        "mean_ms": _ms(timed, "avg"),
        "min_ms": _ms(timed, "min"),
        "p50_ms": _ms(timed, "avg") if p50_is_mean else round(median / 1000.0, 6),
        "p90_ms": _ms(timed, "p90"),
        "p99_ms": _ms(timed, "p99"),
        "max_ms": _ms(timed, "max"),
        "std_ms": _ms(timed, "std") if "std" in timed else (0.0 if "curr" in timed else None),
        "first_ms": _ms(timed, "first"),
        "p5_ms": _ms(timed, "p5"),
        "p95_ms": _ms(timed, "p95"),
        "p50_is_mean": p50_is_mean,
        "warmup_mean_ms": None if warm is None else _ms(warm, "avg"),
    }


def _memory_fields(text):
    """benchmark_model measures ru_maxrss: `overall` is its growth since the tool started
    (like rss_delta_mb), the periodic-monitoring peak its absolute maximum (like VmHWM)."""
    return {
        "peak_rss_mb": _number(_search("peak_mb", text)),
        "rss_delta_mb": _number(_search("memory", text, 2)),
        "init_rss_delta_mb": _number(_search("memory", text, 1)),
        "end_rss_mb": _number(_search("end_rss_mb", text)),
    }


def _log_threads(text, threads):
    logged = _search("threads", text)
    if logged is not None and int(logged) > 0:
        return int(logged)
    return None if threads is None else int(threads)


def parse_benchmark_model_output(text, threads=None, *, model=None, device=None, date=None):
    """Read one `benchmark_model` run's log (stdout+stderr, logcat lines also work) into the
    latency JSON dict with a single result.

    Times in the log are microseconds. p50 is the log's `median` when printed (newer
    versions), else the mean (flagged by p50_is_mean); p90/p99 are None unless printed.
    threads: used when the log does not print `Num threads` (older versions only log
    flags that were set). Raises LatencyError when there is no timed-runs line.
    """
    lines = text.splitlines()
    warm, timed = _timed_stats(lines, text)
    result = _result_from_stats(warm, timed, _log_threads(text, threads))
    xnnpack = _search("xnnpack", text)
    result["xnnpack"] = None if xnnpack is None else xnnpack == "1"
    result["init_ms"] = _number(_search("init_ms", text))
    memory = _memory_fields(text)
    result.update(memory)
    size_mb = _number(_search("size_mb", text))
    return {
        "model": model or _search("graph", text) or _search("loaded", text),
        # benchmark_model prints size / 1e6 with 6 significant digits: approximate bytes. Only
        # the bytes are kept, so no "MB" here means 10^6 bytes (ours are 2^20 everywhere).
        "model_size_bytes": None if size_mb is None else int(round(size_mb * 1e6)),
        "interpreter": _TOOL,
        "device": device,
        "date": date,
        "results": [result],
    }
