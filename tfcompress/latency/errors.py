"""The one error type of the latency package."""

from tfcompress.errors import TfcompressError


class LatencyError(TfcompressError):
    """A model cannot be timed or a benchmark log cannot be read; the message says why."""
