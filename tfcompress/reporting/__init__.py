"""`tfcompress report`: accuracy vs size and latency of finished runs and their TFLite exports."""

from tfcompress.reporting.build import build_report
from tfcompress.reporting.pareto import pareto_indices
from tfcompress.reporting.report_row import ReportRow

__all__ = ["ReportRow", "build_report", "pareto_indices"]
