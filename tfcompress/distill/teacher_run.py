"""A fine-tuned teacher as `tfcompress finetune` left it: model, vocab, labels, config."""

import dataclasses
import json
from pathlib import Path

import keras
import yaml

from tfcompress.data import WordPieceTokenizer
from tfcompress.errors import ConfigError


@dataclasses.dataclass
class TeacherRun:
    directory: Path
    config: dict
    labels: dict
    tokenizer: WordPieceTokenizer
    metrics: dict

    def load_model(self):
        """The teacher task model; call inside a distribution strategy's scope."""
        return keras.models.load_model(self.directory / "model.keras", safe_mode=True)


def read_teacher_run(directory, task, data=None):
    """Reads a finished finetune run directory, checking it fits `task` (and the GLUE task
    of `data`, a DataConfig)."""
    directory = Path(directory)
    needed = ("model.keras", "metrics.json", "config.yaml", "vocab.txt", "labels.json")
    missing = [name for name in needed if not (directory / name).is_file()]
    if missing:
        raise ConfigError(
            f"teacher: {directory} is not a finished finetune run (missing {', '.join(missing)}); "
            "run `tfcompress finetune` first and point teacher at its output_dir"
        )
    config = yaml.safe_load((directory / "config.yaml").read_text())
    if config.get("task") != task:
        raise ConfigError(
            f"teacher: {directory} was trained for task {config.get('task')!r}, not {task!r}"
        )
    teacher_glue = config.get("data", {}).get("glue_task")
    if data is not None and data.format == "glue" and teacher_glue != data.glue_task:
        raise ConfigError(
            f"teacher: {directory} was fine-tuned on {teacher_glue!r}, the data is {data.glue_task!r}"
        )
    tokenizer = WordPieceTokenizer.from_vocab_file(
        directory / "vocab.txt",
        sequence_length=config["model"]["sequence_length"],
        lower_case=config["model"].get("lower_case", True),
    )
    return TeacherRun(
        directory=directory,
        config=config,
        labels=json.loads((directory / "labels.json").read_text()),
        tokenizer=tokenizer,
        metrics=json.loads((directory / "metrics.json").read_text()),
    )
