"""Layout of one GLUE task's TSV files."""

from dataclasses import dataclass


@dataclass(frozen=True)
class GlueTask:
    """Where a GLUE task's TSV keeps its fields (0-based columns; -1 = last column).

    `num_columns` None means "as many as the header has" (MNLI train and dev differ).
    """

    name: str
    is_pair: bool
    label_names: tuple[str, ...]
    metric_names: tuple[str, ...]
    has_header: bool
    text_a_column: int
    text_b_column: int | None
    label_column: int
    num_columns: int | None
