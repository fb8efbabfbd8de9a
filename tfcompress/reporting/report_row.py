"""One model in the report: a run's Keras float model or one TFLite export of it."""

from dataclasses import dataclass


@dataclass
class ReportRow:
    run: str  # display name (the run directory's name, with its parent when names collide)
    run_path: str
    variant: str  # "keras" or the export mode: float, float16, dynamic, int8, int16x8, qat
    export: str | None  # export/<name>.json stem; None for the Keras row
    metric: str | None  # None when --metric names a metric this run lacks
    value: float | None
    measured_on: str  # "Keras" (metrics.json) or "TFLite" (the export's own evaluation)
    size_mb: float  # MiB, like metrics.json float32_mb
    latency_ms: float | None  # p50 at the chosen thread count; None when not measured
    latency_device: str | None
    parity: bool | None  # None for the Keras row (nothing to compare against)
    argmax_agreement: float | None
    eval_examples: int | None
    pareto_size: bool = False
    pareto_latency: bool = False

    @property
    def model_name(self):
        """The export's file name where it says more than its mode (`int8_text_buckets`)."""
        return (
            self.export
            if self.export and self.export.startswith(f"{self.variant}_")
            else self.variant
        )

    @property
    def label(self):
        return f"{self.run} {self.variant}"
