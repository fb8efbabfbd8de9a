"""`report --measure`: time the exports that have no latency at the report's thread count."""

from pathlib import Path

from tfcompress.atomic_write import write_json_atomic
from tfcompress.reporting.collect import LATENCY_SUFFIX, read_json_object

MEASURE_RUNS = 100


def _merged(earlier, measured):
    """Another thread count of the same file on the same host joins the earlier results;
    anything else (another host, another file) is replaced."""
    same = (
        isinstance(earlier, dict)
        and earlier.get("device") == measured["device"]
        and earlier.get("model_size_bytes") == measured["model_size_bytes"]
        and isinstance(earlier.get("results"), list)
    )
    if not same:
        return measured
    return {**earlier, "results": earlier["results"] + measured["results"]}


def _record_latency(json_path, measured):
    """Into `<name>.latency.json` when the harness wrote one (the report reads it first),
    else into the export JSON's `latency`."""
    sidecar = json_path.with_name(json_path.stem + LATENCY_SUFFIX)
    if sidecar.is_file():
        write_json_atomic(sidecar, _merged(read_json_object(sidecar), measured))
        return
    record = read_json_object(json_path)
    record["latency"] = _merged(record.get("latency"), measured)
    write_json_atomic(json_path, record)


def measure_missing_latency(rows, threads, on_measure=None) -> list[str]:
    """Times (on this host, `threads` threads) each export row that lacks a latency and
    whose .tflite is present, and records the result beside it; returns the files timed."""
    from tfcompress.latency.host_timing import measure_latency

    timed = []
    for row in rows:
        if row.export is None or row.latency_ms is not None:
            continue
        json_path = Path(row.run_path) / "export" / f"{row.export}.json"
        tflite = json_path.with_suffix(".tflite")
        if not tflite.is_file():
            continue
        if on_measure:
            on_measure(str(tflite))
        measured = measure_latency(tflite, threads=(threads,), runs=MEASURE_RUNS)
        _record_latency(json_path, measured)
        timed.append(str(tflite))
    return timed
