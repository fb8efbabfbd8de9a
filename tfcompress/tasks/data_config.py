"""The `data:` section of a recipe: where a task's examples come from."""

import dataclasses

from tfcompress.config_loading import resolve_path
from tfcompress.data.glue import GLUE_TASKS
from tfcompress.data.slot_phrase_fill import SlotPhraseFill
from tfcompress.data.slot_value_swap import SlotValueSwap
from tfcompress.data.tfds_source import TfdsSource
from tfcompress.errors import ConfigError
from tfcompress.tasks.unseen_labels import UNSEEN_LABEL_POLICIES

DATA_FORMATS = ("glue", "intent_slot", "synthetic", "tfds")


@dataclasses.dataclass
class DataConfig:
    """Where examples come from. `glue`: TSV files; `intent_slot`: SNIPS/ATIS dirs
    (seq.in, seq.out, label); `synthetic`: our generator (no files needed); `tfds`: a
    TensorFlow Datasets dataset, described by the `tfds:` mapping (`TfdsSource`).

    `unseen_labels` decides what happens to eval examples whose labels the model has no
    output for (see `tfcompress.tasks.unseen_labels`): "error" or "count_as_wrong".

    `slot_swap` (intent + slot and tagging tasks) adds training utterances with swapped
    slot values (`SlotValueSwap`), after `train_subset` is drawn; `phrase_fill` (under
    `distill`) adds copies whose slot values are corpus names for the teacher to label
    (`SlotPhraseFill`), made from the same draw."""

    format: str
    train: str | None = None
    eval: str | None = None
    glue_task: str | None = None
    train_subset: int | None = None
    eval_subset: int | None = None
    skip_malformed: bool = False
    synthetic_train_examples: int = 2000
    synthetic_eval_examples: int = 400
    unseen_labels: str = "error"
    # Typed as the dataclass itself (None when absent) so recipes nest it as a mapping.
    tfds: TfdsSource = None
    slot_swap: SlotValueSwap = None
    phrase_fill: SlotPhraseFill = None

    def __post_init__(self):
        if self.format not in DATA_FORMATS:
            raise ConfigError(
                f"format: {self.format!r} unknown; use one of {', '.join(DATA_FORMATS)}"
            )
        if self.format == "tfds":
            if self.tfds is None:
                raise ConfigError("tfds: required for format 'tfds' (name, splits, features)")
            if self.train or self.eval:
                raise ConfigError("train/eval: format 'tfds' reads tfds.train_split/eval_split")
        elif self.format != "synthetic":
            for key in ("train", "eval"):
                if not getattr(self, key):
                    raise ConfigError(f"{key}: required for format {self.format!r} (a path)")
        if self.format == "glue" and self.glue_task not in GLUE_TASKS:
            raise ConfigError(
                f"glue_task: {self.glue_task!r} unknown; use one of {', '.join(sorted(GLUE_TASKS))}"
            )
        if self.unseen_labels not in UNSEEN_LABEL_POLICIES:
            raise ConfigError(
                f"unseen_labels: {self.unseen_labels!r} unknown; use one of "
                f"{', '.join(UNSEEN_LABEL_POLICIES)}"
            )
        for key in ("train_subset", "eval_subset"):
            value = getattr(self, key)
            if value is not None and value <= 0:
                raise ConfigError(f"{key}: must be a positive number of examples, got {value}")


def resolve_data_paths(data, base_dir):
    """The section's paths (train, eval, tfds.data_dir) made absolute against `base_dir`."""
    data.train = resolve_path(data.train, base_dir)
    data.eval = resolve_path(data.eval, base_dir)
    if data.phrase_fill is not None:
        data.phrase_fill.corpus = [resolve_path(f, base_dir) for f in data.phrase_fill.corpus]
    if data.tfds is not None:
        data.tfds.data_dir = resolve_path(data.tfds.data_dir, base_dir)


def check_task_matches_data(task, data):
    for key in ("slot_swap", "phrase_fill"):
        if task == "classification" and getattr(data, key) is not None:
            raise ConfigError(
                f"data.{key}: replaces slot values, which classification data does not have; "
                "remove it or use an intent_slot task"
            )
    if data.format == "tfds":
        if (task == "classification") != (data.tfds.task_kind == "classification"):
            wanted = "text (and label)" if task == "classification" else "words, tags and intent"
            raise ConfigError(f"data.tfds: task {task!r} reads the features {wanted}")
        return
    if task == "classification" and data.format != "glue":
        raise ConfigError("data.format: classification reads GLUE TSV files; use format glue")
    if task != "classification" and data.format == "glue":
        raise ConfigError(f"data.format: task {task!r} needs intent_slot or synthetic data")
