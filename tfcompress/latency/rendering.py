"""A latency report (host or benchmark_model) as a rich table."""


def _cell(value, digits=2):
    return "–" if value is None else f"{value:.{digits}f}"


def report_table(report):
    """A rich Table of a latency report (host or benchmark_model); times in ms."""
    from rich.table import Table

    size = report.get("model_size_bytes")
    size_text = f" ({size / 2**20:.2f} MB)" if size else ""
    title = (
        f"{report.get('model')}{size_text}\n{report.get('interpreter')} on {report.get('device')}"
    )
    table = Table(title=title, caption="times in ms; sizes and memory in MB = 2^20 bytes")
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
