"""build_report: rows from run directories → Pareto marks → report.md and report.png."""

from dataclasses import asdict
from pathlib import Path

from tfcompress.atomic_write import write_text_atomic
from tfcompress.errors import ConfigError
from tfcompress.reporting.collect import collect_rows
from tfcompress.reporting.markdown import render_markdown
from tfcompress.reporting.measure_missing import measure_missing_latency
from tfcompress.reporting.pareto import mark_pareto
from tfcompress.reporting.plot import render_figure, write_png_atomic


def _output_dir(output_dir):
    path = Path(output_dir)
    if path.exists() and not path.is_dir():
        raise ConfigError(f"--output-dir {path} is a file; choose a directory")
    return path


def build_report(run_dirs, output_dir, threads=1, metric=None, measure=False, on_measure=None):
    """Writes output_dir/report.md and report.png; returns {"rows", "markdown", "png", "timed"}.

    Rows (dicts, sorted by size) are one per run's Keras model plus one per export/<name>.json.
    Every input is read and checked before anything is written. `measure`: exports without
    a latency at `threads` are timed on this host first and the result kept in their
    export JSON (`timed` lists them; `on_measure(path)` hears each as it starts).
    """
    if not run_dirs:
        raise ConfigError("name at least one run directory")
    if not isinstance(threads, int) or threads < 1:
        raise ConfigError(f"--threads {threads}: must be a positive integer")
    output = _output_dir(output_dir)
    rows = collect_rows(run_dirs, threads=threads, metric=metric)
    timed = measure_missing_latency(rows, threads, on_measure) if measure else []
    if timed:
        rows = collect_rows(run_dirs, threads=threads, metric=metric)
    mark_pareto(rows)
    rows.sort(key=lambda r: (r.size_mb, -(r.value or 0.0), r.run, r.variant))
    markdown_path, png_path = output / "report.md", output / "report.png"
    # The PNG first: report.md links it, so it should never point at a missing image.
    write_png_atomic(render_figure(rows, threads), png_path)
    write_text_atomic(markdown_path, render_markdown(rows, threads, png_path.name))
    return {
        "rows": [asdict(row) for row in rows],
        "markdown": str(markdown_path),
        "png": str(png_path),
        "timed": timed,
    }
