"""Read run directories (metrics.json, export/*.json, export/*.latency.json) into rows."""

import json
import numbers
from pathlib import Path

from tfcompress.errors import ConfigError, DataError
from tfcompress.reporting.report_row import ReportRow
from tfcompress.run_directory import RunDirectory

MIB = 2**20  # metrics.json float32_mb is parameters * 4 / 2**20, so export sizes use MiB too
PREFERRED_METRICS = ("accuracy", "intent_accuracy")
LATENCY_SUFFIX = ".latency.json"


def read_json_object(path):
    """A JSON object from `path`; anything else is a DataError naming the file."""
    try:
        value = json.loads(Path(path).read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise DataError(f"{path}: malformed JSON (line {e.lineno}: {e.msg})") from None
    except (OSError, UnicodeDecodeError) as e:
        raise DataError(f"{path}: cannot read it ({e})") from None
    if not isinstance(value, dict):
        raise DataError(f"{path}: malformed JSON: expected an object, got {type(value).__name__}")
    return value


def _number(value):
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _require(mapping, key, path, check, expected):
    value = mapping.get(key) if isinstance(mapping, dict) else None
    if not check(value):
        raise DataError(f"{path}: malformed: {key!r} must be {expected}, got {value!r}")
    return value


def display_names(paths):
    """Directory names, with the parent added where two runs share a name (runs/a/x, runs/b/x)."""
    names = [p.name for p in paths]
    return [f"{p.parent.name}/{p.name}" if names.count(p.name) > 1 else p.name for p in paths]


def choose_metric(evaluation, requested):
    """--metric if given (None when this run lacks it), else accuracy, intent accuracy, first."""
    if requested:
        return requested if requested in evaluation else None
    for name in PREFERRED_METRICS:
        if name in evaluation:
            return name
    return next(iter(evaluation))


def _keras_size_mb(model, path):
    if "float32_mb" in model:
        return float(_require(model, "float32_mb", path, _number, "a number"))
    # Older runs lack float32_mb (some have keras_file_mb, which counts optimizer state).
    parameters = _require(model, "parameters", path, _number, "a number (or give float32_mb)")
    return parameters * 4 / MIB


def _read_run_metrics(path):
    metrics_path = path / "metrics.json"
    metrics = read_json_object(metrics_path)
    evaluation = _require(
        metrics,
        "eval",
        metrics_path,
        lambda v: bool(v) and isinstance(v, dict),
        "a non-empty object",
    )
    for name, value in evaluation.items():
        if not _number(value):
            raise DataError(f"{metrics_path}: malformed: eval {name!r} must be a number")
    model = _require(metrics, "model", metrics_path, lambda v: isinstance(v, dict), "an object")
    return evaluation, _keras_size_mb(model, metrics_path), metrics.get("eval_examples")


def _export_records(path):
    """(path, record) for each export/<name>.json. A JSON without a .tflite beside it and
    without a "mode" key is someone else's file (an op histogram, say) and is skipped."""
    records = []
    for json_path in sorted((path / "export").glob("*.json")):
        if json_path.name.endswith(LATENCY_SUFFIX):
            continue
        record = read_json_object(json_path)
        if json_path.with_suffix(".tflite").exists() or "mode" in record:
            records.append((json_path, record))
    return records


def _latency(json_path, record, threads):
    """p50 ms and device at `threads`: the harness's <name>.latency.json wins over the latency
    the export embedded, as it is the dedicated (and usually later) measurement."""
    sidecar = json_path.with_name(json_path.stem + LATENCY_SUFFIX)
    source, latency = json_path, record.get("latency")
    if sidecar.is_file():
        source, latency = sidecar, read_json_object(sidecar)
    if latency is None:
        return None, None
    if not isinstance(latency, dict):
        raise DataError(f"{source}: malformed: 'latency' must be an object or null")
    results = _require(latency, "results", source, lambda v: isinstance(v, list), "a list")
    for result in results:
        _require(result, "threads", source, _number, "a number in every result")
        if result["threads"] == threads:
            p50 = _require(result, "p50_ms", source, _number, "a number")
            return float(p50), latency.get("device")
    return None, None


def _parity(json_path, record):
    parity = record.get("parity")
    if parity is None:
        return None, None
    passed = _require(parity, "passed", json_path, lambda v: isinstance(v, bool), "true/false")
    agreement = parity.get("argmax_agreement")
    return passed, float(agreement) if _number(agreement) else None


def _tflite_score(json_path, record, metric):
    accuracy = record.get("accuracy")
    if accuracy is None:
        return None
    if not isinstance(accuracy, dict):
        raise DataError(f"{json_path}: malformed: 'accuracy' must be an object or null")
    value = accuracy.get(metric)
    return float(value) if _number(value) else None


def _export_row(keras_row, json_path, record, threads):
    mode = _require(record, "mode", json_path, lambda v: isinstance(v, str) and v, "a string")
    size = _require(record, "size_bytes", json_path, lambda v: _number(v) and v > 0, "> 0")
    tflite_value = _tflite_score(json_path, record, keras_row.metric)
    latency_ms, device = _latency(json_path, record, threads)
    passed, agreement = _parity(json_path, record)
    return ReportRow(
        run=keras_row.run,
        run_path=keras_row.run_path,
        variant=mode,
        export=json_path.stem,
        metric=keras_row.metric,
        # An unmeasured export shows the Keras score, labelled as such: quantization may lower it.
        value=keras_row.value if tflite_value is None else tflite_value,
        measured_on="Keras" if tflite_value is None else "TFLite",
        size_mb=size / MIB,
        latency_ms=latency_ms,
        latency_device=device,
        parity=passed,
        argmax_agreement=agreement,
        eval_examples=keras_row.eval_examples,
    )


def run_rows(path, name, threads, metric):
    """The Keras float model's row, then one row per export of this run; and the run's metrics."""
    evaluation, size_mb, eval_examples = _read_run_metrics(path)
    chosen = choose_metric(evaluation, metric)
    keras_row = ReportRow(
        run=name,
        run_path=str(path),
        variant="keras",
        export=None,
        metric=chosen,
        value=None if chosen is None else float(evaluation[chosen]),
        measured_on="Keras",
        size_mb=size_mb,
        latency_ms=None,
        latency_device=None,
        parity=None,
        argmax_agreement=None,
        eval_examples=eval_examples if isinstance(eval_examples, int) else None,
    )
    exports = [_export_row(keras_row, p, r, threads) for p, r in _export_records(path)]
    return [keras_row, *exports], set(evaluation)


def _unique_run_paths(run_dirs):
    """Checks every directory before reading any; a run named twice is reported once."""
    unique = {}
    for run_dir in run_dirs:
        path = Path(run_dir)
        RunDirectory(path).require_finished()
        unique.setdefault(path.resolve(), path)
    return list(unique.values())


def collect_rows(run_dirs, threads=1, metric=None):
    paths = _unique_run_paths(run_dirs)
    rows, available = [], set()
    for path, name in zip(paths, display_names([p.resolve() for p in paths])):
        these, metrics = run_rows(path, name, threads, metric)
        rows.extend(these)
        available |= metrics
    if metric and metric not in available:
        raise ConfigError(
            f"--metric {metric}: no run has it; they have {', '.join(sorted(available))}"
        )
    return rows
