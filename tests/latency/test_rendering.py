"""The rich table of a latency report."""

from tests.latency.helpers import parse_log
from tfcompress.latency.rendering import report_table


def test_report_table_renders_missing_values():
    table = report_table(parse_log("old_format_no_percentiles.txt"))
    assert table.row_count == 1
