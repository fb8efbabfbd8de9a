"""report.md: the table sorted by size, Pareto rows starred, and where each number comes from."""

MISSING = "—"


def _metrics(rows):
    return sorted({row.metric for row in rows if row.metric is not None})


def _pareto_mark(row):
    fronts = [
        name for name, on in (("size", row.pareto_size), ("latency", row.pareto_latency)) if on
    ]
    return f"★ {', '.join(fronts)}" if fronts else ""


def _parity_cell(row):
    if row.parity is None:
        return MISSING
    agreement = "" if row.argmax_agreement is None else f" ({row.argmax_agreement:.3f})"
    return ("✓" if row.parity else "✗ FAILED") + agreement


def table_cells(rows, threads):
    """Header and cells shared by report.md and the console table."""
    metrics = _metrics(rows)
    one_metric = len(metrics) <= 1
    header = ["run", "model"]
    header += [metrics[0] if metrics else "score"] if one_metric else ["metric", "score"]
    header += [
        "measured on",
        "size (MB)",
        f"p50 (ms, {threads} thread{'s' * (threads != 1)})",
        "parity",
        "Pareto",
    ]
    body = []
    for row in rows:
        score = MISSING if row.value is None else f"{row.value:.4f}"
        cells = [row.run, row.model_name]
        cells += [score] if one_metric else [row.metric or MISSING, score]
        latency = MISSING if row.latency_ms is None else f"{row.latency_ms:.2f}"
        cells += [row.measured_on, f"{row.size_mb:.2f}", latency, _parity_cell(row)]
        body.append(cells + [_pareto_mark(row)])
    return header, body


def _escape(cell):
    return str(cell).replace("|", "\\|")


def _table(rows, threads):
    header, body = table_cells(rows, threads)
    lines = ["| " + " | ".join(map(_escape, header)) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(map(_escape, cells)) + " |" for cells in body]
    return lines


def _runs(rows):
    runs = {}
    for row in rows:
        runs.setdefault(row.run, row)
    return [
        f"- `{row.run}`: {row.run_path}"
        + (f" ({row.eval_examples} eval examples)" if row.eval_examples else "")
        for row in runs.values()
    ]


def _notes(rows, threads):
    devices = sorted({row.latency_device for row in rows if row.latency_device})
    notes = [
        "- **measured on**: `TFLite` = the exported .tflite model's own score on the eval data "
        "(export JSON `accuracy`); `Keras` = the run's Keras float model (metrics.json `eval`). "
        "An export row marked `Keras` was not evaluated itself: its real score may be lower "
        "after quantization.",
        "- **size**: `keras` rows are float32 weights (parameters × 4 bytes); export rows are "
        "the .tflite file. MB = 2^20 bytes.",
        f"- **latency**: p50 at {threads} thread(s) from `export/<name>.latency.json`, else the "
        f"export JSON's `latency`; {MISSING} = not measured at that thread count (Keras models "
        "are not timed)." + (f" Device: {'; '.join(devices)}." if devices else ""),
        "- **Pareto** ★: no other row scored by the same metric is at least as good and at least "
        "as small (`size`) or fast (`latency`), and strictly better in one.",
        "- **parity**: ✓ = TFLite outputs matched Keras within the export's tolerance, "
        "(n) = argmax agreement with Keras; a ✗ row's score is not trustworthy.",
    ]
    return notes


def render_markdown(rows, threads, png_name):
    lines = [
        "# Accuracy vs size and latency",
        "",
        *_runs(rows),
        "",
        f"![accuracy vs size and latency]({png_name})",
        "",
    ]
    lines += _table(rows, threads)
    lines += ["", "Notes:", "", *_notes(rows, threads)]
    return "\n".join(lines) + "\n"
