"""Latency and memory of a .tflite model: measured on this host with the LiteRT (or
tflite-runtime) interpreter, or parsed from the log of LiteRT's Android `benchmark_model`.

Both paths produce the same JSON so host and phone numbers sit in one table:

    {"model": str, "model_size_bytes": int, "interpreter": "litert"|"tflite_runtime"|
     "benchmark_model", "device": str, "date": str (UTC ISO 8601),
     "results": [{"threads": int, "runs": int, "warmup": int, "mean_ms": float,
                  "min_ms": float, "p50_ms": float, "p90_ms": float, "p99_ms": float,
                  "peak_rss_mb": float|None, "rss_delta_mb": float|None, ...}], ...}

Extra keys are allowed (and present); consumers must ignore keys they do not know.
This module imports neither TensorFlow nor Keras: only the interpreter package, plus
tensorflow-text when a model needs its custom ops.
"""

import datetime
import gc
import importlib
import os
import platform
import re
import time
from pathlib import Path

import numpy as np

from tfcompress.errors import TfcompressError

INTERPRETERS = ("litert", "tflite_runtime")
# Android's benchmark_model fills int32 inputs uniformly in [0, 99]; the host runner uses the
# same range so both feed comparable ids, and stays below any realistic vocabulary size.
MAX_TOKEN_ID = 100
# A dynamic (-1) non-batch dimension, e.g. a sequence axis, is given this size.
DYNAMIC_DIM = 128
SAMPLE_SENTENCE = "The quick brown fox jumps over the lazy dog near the river bank."
_TOOL = "benchmark_model"


class LatencyError(TfcompressError):
    """A model cannot be timed or a benchmark log cannot be read; the message says why."""


# --------------------------------------------------------------------------- host: loading


def _interpreter_module(name):
    """Import the interpreter package lazily: tflite-runtime is optional, not a dependency."""
    if name == "litert":
        return importlib.import_module("ai_edge_litert.interpreter")
    if name == "tflite_runtime":
        try:
            return importlib.import_module("tflite_runtime.interpreter")
        except ImportError:
            raise LatencyError(
                "interpreter 'tflite_runtime' is not installed: pip install tflite-runtime "
                "(optional; the default interpreter 'litert' comes with tfcompress)"
            ) from None
    raise LatencyError(f"unknown interpreter {name!r}; expected one of {', '.join(INTERPRETERS)}")


def _text_op_registerers():
    """tensorflow-text's TFLite kernels; importing it pulls in TensorFlow, so only on demand."""
    try:
        from tensorflow_text import tflite_registrar
    except ImportError:
        raise LatencyError(
            "the model uses tensorflow-text custom ops but tensorflow_text cannot be imported"
        ) from None
    return tflite_registrar.SELECT_TFTEXT_OPS


def _is_unresolved_op(error):
    return "unresolved custom op" in str(error)


def _open_interpreter(module, model_path, threads, custom_ops):
    """Build and allocate: unresolved custom ops only surface in allocate_tensors()."""
    kwargs = {"model_path": str(model_path), "num_threads": threads}
    try:
        if custom_ops:
            interp = module.InterpreterWithCustomOps(
                custom_op_registerers=_text_op_registerers(), **kwargs
            )
        else:
            interp = module.Interpreter(**kwargs)
        interp.allocate_tensors()
    except (RuntimeError, ValueError) as e:
        if _is_unresolved_op(e) and not custom_ops:
            raise
        raise LatencyError(f"{model_path}: cannot load the model: {_one_line(e)}") from None
    return interp


def _load(module, model_path, threads, custom_ops):
    """Open the model; custom_ops=None retries with tensorflow-text ops when one is missing.

    Returns (interpreter, custom_ops_used).
    """
    try:
        return _open_interpreter(module, model_path, threads, bool(custom_ops)), bool(custom_ops)
    except (RuntimeError, ValueError) as e:
        if custom_ops is False:
            raise LatencyError(
                f"{model_path}: {_one_line(e)} (custom ops are disabled; allow them to load "
                "tensorflow-text kernels)"
            ) from None
        return _open_interpreter(module, model_path, threads, True), True


def _one_line(error):
    return " ".join(str(error).split())


# --------------------------------------------------------------------------- host: sessions


class _Session:
    """One loaded interpreter and how to run it: the signature runner when the model has a
    signature (what an app calls), else plain set_tensor/invoke."""

    def __init__(self, interp):
        self.interp = interp
        signatures = interp.get_signature_list()
        self.signature = None
        if signatures:
            self.signature = (
                "serving_default" if "serving_default" in signatures else next(iter(signatures))
            )
            self.runner = interp.get_signature_runner(self.signature)
            self.details = self.runner.get_input_details()
        else:
            self.details = {d["name"]: d for d in interp.get_input_details()}
        self._feed = {}

    @property
    def timed(self):
        return "signature_runner" if self.signature else "invoke"

    def feed(self, inputs):
        """Place the inputs once; the timed call then re-runs the model on them."""
        if self.signature:
            self._feed = inputs
            return
        for name, value in inputs.items():
            index = self.details[name]["index"]
            if tuple(self.details[name]["shape"]) != value.shape:
                self.interp.resize_tensor_input(index, list(value.shape))
        self.interp.allocate_tensors()
        for name, value in inputs.items():
            self.interp.set_tensor(self.details[name]["index"], value)

    def run(self):
        if self.signature:
            self.runner(**self._feed)
        else:
            self.interp.invoke()


def _concrete_shape(detail):
    """Batch 1 for a dynamic first axis, DYNAMIC_DIM for other dynamic axes."""
    signature = detail.get("shape_signature")
    dims = list(detail["shape"] if signature is None or len(signature) == 0 else signature)
    return tuple(
        (1 if axis == 0 else DYNAMIC_DIM) if d < 0 else int(d) for axis, d in enumerate(dims)
    )


def _is_string(dtype):
    return np.dtype(dtype).kind in "SUO"


def _role(name):
    """What an integer input holds, from its name (token_ids, padding_mask, segment_ids...)."""
    lowered = name.lower()
    if "mask" in lowered:
        return "mask"
    if "segment" in lowered or "type_ids" in lowered:
        return "segment"
    return "ids"


def make_inputs(input_details, seed=0, vocab_size=None):
    """Synthetic inputs a BERT-style model accepts.

    Token ids lie in [1, min(100, vocab_size)) so they are never out of vocabulary,
    padding masks are all ones, segment ids zeros, floats standard normal, and string
    inputs (models with an in-graph tokenizer) a fixed English sentence.

    input_details: name -> dict with "shape", "shape_signature" and "dtype", as returned
    by a signature runner's get_input_details().
    """
    rng = np.random.default_rng(seed)
    high = min(MAX_TOKEN_ID, vocab_size) if vocab_size else MAX_TOKEN_ID
    inputs = {}
    for name, detail in input_details.items():
        shape, dtype = _concrete_shape(detail), np.dtype(detail["dtype"])
        if _is_string(dtype):
            inputs[name] = np.full(shape, SAMPLE_SENTENCE.encode(), dtype=object)
        elif dtype == np.bool_:
            inputs[name] = np.ones(shape, dtype)
        elif dtype.kind == "f":
            inputs[name] = rng.standard_normal(shape).astype(dtype)
        elif _role(name) == "mask":
            inputs[name] = np.ones(shape, dtype)
        elif _role(name) == "segment":
            inputs[name] = np.zeros(shape, dtype)
        else:
            top = min(high, int(np.iinfo(dtype).max) + 1)
            inputs[name] = rng.integers(min(1, top - 1), top, shape).astype(dtype)
    return inputs


def _embedding_rows(interp, token_tensor, depth=6):
    """Rows of the embedding table gathered by `token_tensor`, or None.

    Walks back from each GATHER's indices through a few producing ops (Keras adds a
    clamp/select before the lookup). Uses the interpreter's private op listing, so any
    failure just means "unknown" and the caller falls back to ids < MAX_TOKEN_ID.
    """
    try:
        ops = interp._get_ops_details()
        producer = {int(t): op for op in ops for t in op["outputs"]}
        rows = []
        for op in ops:
            if op["op_name"] not in ("GATHER", "EMBEDDING_LOOKUP"):
                continue
            params, indices = op["inputs"][:2]
            if op["op_name"] == "EMBEDDING_LOOKUP":
                params, indices = indices, params
            if _derives_from(int(indices), token_tensor, producer, depth):
                rows.append(int(interp._get_tensor_details(int(params), 0)["shape"][0]))
        return min(rows) if rows else None
    except Exception:
        return None


def _derives_from(tensor, source, producer, depth):
    frontier = {tensor}
    for _ in range(depth + 1):
        if source in frontier:
            return True
        frontier = {int(t) for x in frontier if x in producer for t in producer[x]["inputs"]}
    return False


def _default_inputs(session, seed):
    token_names = [
        n
        for n, d in session.details.items()
        if np.dtype(d["dtype"]).kind in "iu" and _role(n) == "ids"
    ]
    rows = [_embedding_rows(session.interp, int(session.details[n]["index"])) for n in token_names]
    known = [r for r in rows if r]
    return make_inputs(session.details, seed, min(known) if known else None)


def _check_inputs(inputs, session):
    expected = set(session.details)
    if set(inputs) != expected:
        raise LatencyError(
            f"inputs {sorted(inputs)} do not match the model's inputs {sorted(expected)}"
        )
    return {name: np.asarray(value) for name, value in inputs.items()}


def _describe_inputs(inputs):
    return [
        {"name": name, "shape": list(value.shape), "dtype": str(value.dtype)}
        for name, value in sorted(inputs.items())
    ]


# --------------------------------------------------------------------------- host: memory


def _proc_status_mb(field):
    """A /proc/self/status memory field in MB (1 MB = 2**20 bytes), None off Linux."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                key, _, value = line.partition(":")
                if key == field:
                    return int(value.split()[0]) / 1024.0
    except (OSError, ValueError, IndexError):
        return None
    return None


def _reset_peak_rss():
    """Reset VmHWM to the current RSS (Linux `clear_refs` 5) so each thread count gets its
    own peak; returns False where the kernel does not allow it (the peak then carries over)."""
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as f:
            f.write("5")
        return True
    except OSError:
        return False


# --------------------------------------------------------------------------- host: timing


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
    """Load a fresh interpreter with `threads`, warm it up, time `runs` calls.

    rss_delta_mb is resident memory after loading and running minus before loading;
    peak_rss_mb is VmHWM, which is process-wide: it includes Python, numpy and the
    interpreter library, not just this model.
    """
    gc.collect()
    peak_reset = _reset_peak_rss()
    before = _proc_status_mb("VmRSS")
    session = open_session(threads)
    session.feed(inputs)
    times = _time_runs(session, runs, warmup)
    after, peak = _proc_status_mb("VmRSS"), _proc_status_mb("VmHWM")
    del session
    gc.collect()
    result = {"threads": int(threads), "runs": int(runs), "warmup": int(warmup)}
    result.update(summarize_ms(times))
    result["peak_rss_mb"] = peak
    result["rss_delta_mb"] = None if after is None or before is None else after - before
    result["hwm_delta_mb"] = None if peak is None or before is None else peak - before
    result["peak_rss_reset"] = peak_reset
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


def measure_latency(
    model_path,
    threads=(1, 2, 4),
    runs=100,
    warmup=10,
    interpreter="litert",
    inputs=None,
    seed=0,
    custom_ops=None,
):
    """Time a .tflite on this host for each thread count; returns the latency JSON dict.

    Each thread count gets a freshly loaded interpreter (the thread count is fixed at
    construction), `warmup` untimed calls, then `runs` calls each timed with
    time.perf_counter. `inputs` (name -> array) defaults to make_inputs(). custom_ops:
    None loads tensorflow-text kernels only when the model has an unresolved custom op,
    True always, False never.
    """
    _check_counts(threads, runs, warmup)
    path = _check_model_file(model_path)
    module = _interpreter_module(interpreter)
    probe, custom_ops = _load(module, path, 1, custom_ops)
    probe_session = _Session(probe)
    feed = _check_inputs(inputs, probe_session) if inputs else _default_inputs(probe_session, seed)
    timed, signature = probe_session.timed, probe_session.signature
    del probe_session, probe
    started = utc_now()

    def open_session(n):
        return _Session(_open_interpreter(module, path, n, custom_ops))

    results = [_measure_thread_count(open_session, n, feed, runs, warmup) for n in threads]
    return {
        "model": str(model_path),
        "model_size_bytes": path.stat().st_size,
        "interpreter": interpreter,
        "interpreter_version": _module_version(interpreter),
        "device": describe_device(),
        "cpu_count": os.cpu_count(),
        "date": started,
        "signature": signature,
        "timed": timed,
        "custom_ops": custom_ops,
        "inputs": _describe_inputs(feed),
        "results": results,
    }


def _module_version(interpreter):
    package = {"litert": "ai_edge_litert", "tflite_runtime": "tflite_runtime"}[interpreter]
    return getattr(importlib.import_module(package), "__version__", None)


def _cpu_model():
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            for line in f:
                key, _, value = line.partition(":")
                if key.strip() in ("model name", "Hardware", "Processor") and value.strip():
                    return value.strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def describe_device():
    """OS, CPU model and CPU count: enough to tell which host a number came from."""
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
    cpus = f"{os.cpu_count()} CPUs"
    if usable and usable != os.cpu_count():
        cpus += f" ({usable} usable)"
    return f"{platform.system()} {platform.machine()}, {_cpu_model()}, {cpus}"


def utc_now():
    return datetime.datetime.now(datetime.UTC).replace(microsecond=0).isoformat()


# --------------------------------------------------------------------------- benchmark_model

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
        # benchmark_model prints size / 1e6 with 6 significant digits: approximate bytes.
        "model_size_bytes": None if size_mb is None else int(round(size_mb * 1e6)),
        "model_size_mb": size_mb,
        "interpreter": _TOOL,
        "device": device,
        "date": date,
        "results": [result],
    }


# --------------------------------------------------------------------------- display


def _cell(value, digits=2):
    return "–" if value is None else f"{value:.{digits}f}"


def report_table(report):
    """A rich Table of a latency report (host or benchmark_model); times in ms."""
    from rich.table import Table

    size = report.get("model_size_bytes")
    size_text = f" ({size / 1e6:.2f} MB)" if size else ""
    title = (
        f"{report.get('model')}{size_text}\n{report.get('interpreter')} on {report.get('device')}"
    )
    table = Table(title=title, caption="times in ms; memory in MB")
    for name in ("threads", "runs", "warmup", "mean", "min", "p50", "p90", "p99", "peak", "ΔRSS"):
        table.add_column(name, justify="right", no_wrap=True)
    for r in report["results"]:
        table.add_row(
            *("–" if r.get(k) is None else str(r[k]) for k in ("threads", "runs", "warmup")),
            *(_cell(r.get(f"{k}_ms"), 3) for k in ("mean", "min", "p50", "p90", "p99")),
            _cell(r.get("peak_rss_mb"), 1),
            _cell(r.get("rss_delta_mb"), 1),
        )
    return table


def print_report(report, console=None):
    from rich.console import Console

    (console or Console()).print(report_table(report))


def run_cli(build_parser, run, argv=None) -> int:
    """Shared `main` of the mobile_eval scripts: user errors as one line, exit status 2."""
    import sys

    args = build_parser().parse_args(argv)
    try:
        run(args)
    except TfcompressError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except OSError as e:
        print(f"error: {e.filename or ''}: {e.strerror or e}", file=sys.stderr)
        return 2
    return 0
