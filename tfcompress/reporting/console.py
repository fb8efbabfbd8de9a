"""The table `tfcompress report` prints: the same cells as report.md."""

from tfcompress.reporting.markdown import table_cells
from tfcompress.reporting.report_row import ReportRow


def print_report(result, threads):
    from rich.console import Console
    from rich.table import Table

    header, body = table_cells([ReportRow(**row) for row in result["rows"]], threads)
    table = Table(title="tfcompress report (sorted by size; ★ = Pareto-optimal)")
    for name in header:
        table.add_column(name, justify="left" if name in ("run", "model", "metric") else "right")
    for cells in body:
        table.add_row(*cells)
    Console().print(table)
    # Plain print: rich would wrap long paths, and people copy these.
    print(f"report: {result['markdown']}")
    print(f"plot:   {result['png']}")
