"""Readers for GLUE-style TSV files (SST-2, CoLA, MRPC, RTE, QNLI, MNLI)."""

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from tfcompress.data.glue_task import GlueTask
from tfcompress.data.task_data import TextClassificationData
from tfcompress.data.text_files import read_lines
from tfcompress.errors import DataError

_ENTAILMENT = ("entailment", "not_entailment")
_MNLI = ("contradiction", "entailment", "neutral")


def _task(
    name, label_names, metric_names, text_a, text_b, label, num_columns, has_header=True
) -> GlueTask:
    return GlueTask(
        name=name,
        is_pair=text_b is not None,
        label_names=label_names,
        metric_names=metric_names,
        has_header=has_header,
        text_a_column=text_a,
        text_b_column=text_b,
        label_column=label,
        num_columns=num_columns,
    )


GLUE_TASKS: dict[str, GlueTask] = {
    task.name: task
    for task in (
        # The GLUE distribution of SST-2 is "sentence<TAB>label" with a header.
        _task("sst2", ("0", "1"), ("accuracy",), text_a=0, text_b=None, label=1, num_columns=2),
        # CoLA: source, label, original label, sentence; no header.
        _task(
            "cola",
            ("0", "1"),
            ("mcc",),
            text_a=3,
            text_b=None,
            label=1,
            num_columns=4,
            has_header=False,
        ),
        # MRPC: Quality, #1 ID, #2 ID, #1 String, #2 String.
        _task("mrpc", ("0", "1"), ("accuracy", "f1"), text_a=3, text_b=4, label=0, num_columns=5),
        _task("rte", _ENTAILMENT, ("accuracy",), text_a=1, text_b=2, label=3, num_columns=4),
        _task("qnli", _ENTAILMENT, ("accuracy",), text_a=1, text_b=2, label=3, num_columns=4),
        # MNLI train has 12 columns and dev 16 (more annotator labels); gold_label is last.
        _task("mnli", _MNLI, ("accuracy",), text_a=8, text_b=9, label=-1, num_columns=None),
    )
}


def read_glue_tsv(
    path: str | os.PathLike,
    task: str,
    skip_malformed: bool = False,
    label_names: Sequence[str] | None = None,
    keep_unknown_labels: bool = False,
) -> TextClassificationData:
    """Read a labelled GLUE TSV file of `task` (a key of GLUE_TASKS).

    `label_names` overrides the task's label vocabulary (label id = index in it).
    Malformed rows raise DataError naming path and line, or with `skip_malformed`
    are dropped and counted in `skipped`. With `keep_unknown_labels` a well-formed row
    whose label is outside the vocabulary is kept with label -1 (its text in
    `unknown_labels`), for the caller to report or score as never right.
    """
    layout = _layout(task)
    path = Path(path)
    names = list(label_names) if label_names is not None else list(layout.label_names)
    label_ids = {name: i for i, name in enumerate(names)}
    texts_a, texts_b, labels, skipped, unknown = [], [], [], 0, {}
    lines = _read_lines(path)
    expected = _expected_columns(path, layout, lines)
    for lineno, line in enumerate(lines, start=1):
        if (layout.has_header and lineno == 1) or not line:
            continue
        try:
            a, b, label = _parse_row(
                path, lineno, line, layout, expected, None if keep_unknown_labels else label_ids
            )
        except DataError:
            if not skip_malformed:
                raise
            skipped += 1
            continue
        if label not in label_ids:
            unknown[len(labels)] = label
        texts_a.append(a)
        texts_b.append(b)
        labels.append(label_ids.get(label, -1))
    if not texts_a:
        raise DataError(
            f"{path}: no {task} examples found (skipped {skipped} malformed rows); is this the right file?"
        )
    return TextClassificationData(
        texts_a=texts_a,
        texts_b=texts_b if layout.is_pair else None,
        labels=np.asarray(labels, dtype=np.int64),
        label_names=names,
        skipped=skipped,
        unknown_labels=unknown,
    )


def _layout(task: str) -> GlueTask:
    if task not in GLUE_TASKS:
        raise DataError(f"unknown GLUE task {task!r}; supported tasks: {', '.join(GLUE_TASKS)}")
    return GLUE_TASKS[task]


def _read_lines(path: Path) -> list[str]:
    # Fields are split on tabs by hand because the sentences contain bare double quotes
    # that csv quoting would misread.
    return read_lines(path, "TSV file", "check the data paths in your config")


def _expected_columns(path: Path, layout: GlueTask, lines: list[str]) -> int:
    if layout.num_columns is not None:
        return layout.num_columns
    if not lines:
        raise DataError(f"{path}: file is empty; expected a {layout.name} TSV with a header line")
    count = len(lines[0].split("\t"))
    needed = max(layout.text_a_column, layout.text_b_column or 0) + 2
    if count < needed:
        raise DataError(
            f"{path}:1: header has {count} tab-separated columns, a {layout.name} file needs at least {needed}; "
            f"is this the right file?"
        )
    return count


def _parse_row(path, lineno, line, layout: GlueTask, expected: int, label_ids):
    """(text_a, text_b, label text); `label_ids` (None: any label) checks the label."""
    fields = line.split("\t")
    if len(fields) != expected:
        raise DataError(
            f"{path}:{lineno}: expected {expected} tab-separated columns, got {len(fields)} "
            f"(is this a {layout.name} file? fix the row or pass skip_malformed=True)"
        )
    label = fields[layout.label_column].strip()
    if label_ids is not None and label not in label_ids:
        raise DataError(
            f"{path}:{lineno}: unknown label {label!r}; expected one of {sorted(label_ids)} "
            f"(fix the row or pass skip_malformed=True)"
        )
    text_b = fields[layout.text_b_column] if layout.text_b_column is not None else None
    return fields[layout.text_a_column], text_b, label
