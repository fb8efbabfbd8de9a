"""A finished `finetune` or `distill` run directory, read back: config, vocab, labels, model."""

import dataclasses
import json
from pathlib import Path

import yaml

from tfcompress.config_loading import dataclass_from_dict
from tfcompress.data import WordPieceTokenizer
from tfcompress.errors import ConfigError
from tfcompress.run_directory import RunDirectory, load_keras_model
from tfcompress.tasks.data_config import DataConfig
from tfcompress.tasks.task_runtime import TaskRuntime, read_task_data

RUN_FILES = ("config.yaml", "tokenizer.json", "vocab.txt", "labels.json", "model.keras")


@dataclasses.dataclass
class FinishedRun:
    """What a finished run left: its resolved config, tokenizer, label names and metrics.

    A run is finished when `metrics.json` exists (written last). Every command that
    starts from a run (distill from a teacher, export, report) reads it through
    `FinishedRun.read`, so the checks and their messages are the same everywhere.

    Args:
        directory: the run directory.
        config: its `config.yaml` as a dict (the recipe it ran, resolved).
        tokenizer: the run's `WordPieceTokenizer` (vocab.txt + tokenizer.json).
        labels: its `labels.json`.
        metrics: its `metrics.json`.

    Example:

    ```python
    run = FinishedRun.read("runs/demo/student")
    model, runtime = run.load_model(), run.task_runtime()
    ```
    """

    directory: Path
    config: dict
    tokenizer: WordPieceTokenizer
    labels: dict
    metrics: dict

    @classmethod
    def read(cls, directory, role="run"):
        """Reads and checks `directory`; `role` names it in errors ("teacher", "run")."""
        directory = Path(directory)
        RunDirectory(directory).require_finished(role, RUN_FILES)
        settings = json.loads((directory / "tokenizer.json").read_text())
        return cls(
            directory=directory,
            config=yaml.safe_load((directory / "config.yaml").read_text()),
            tokenizer=WordPieceTokenizer.from_vocab_file(directory / "vocab.txt", **settings),
            labels=json.loads((directory / "labels.json").read_text()),
            metrics=json.loads((directory / "metrics.json").read_text()),
        )

    @property
    def task(self):
        return self.config["task"]

    @property
    def data_config(self):
        return dataclass_from_dict(DataConfig, self.config["data"], where="data")

    def check_fits(self, task, data_config=None, role="teacher"):
        """Refuses a run trained for another task (or, for GLUE data, another GLUE task)."""
        if self.task != task:
            raise ConfigError(
                f"{role}: {self.directory} was trained for task {self.task!r}, not {task!r}"
            )
        if data_config is None or data_config.format not in ("glue", "tfds"):
            return
        trained = self.config.get("data", {})
        if data_config.format == "glue":
            trained_on, wanted = trained.get("glue_task"), data_config.glue_task
        else:
            trained_on, wanted = (trained.get("tfds") or {}).get("name"), data_config.tfds.name
        if trained_on != wanted:
            raise ConfigError(
                f"{role}: {self.directory} was fine-tuned on {trained_on!r}, the data is {wanted!r}"
            )

    def load_model(self):
        """The run's task model; call inside a distribution strategy's scope if any."""
        return load_keras_model(self.directory / "model.keras")

    def task_runtime(self):
        """The run's task on the data it was trained and evaluated on, batched as it was."""
        seed, training = self.config.get("seed", 0), self.config.get("training", {})
        train, evaluation = read_task_data(self.data_config, seed)
        return TaskRuntime(
            task=self.task,
            data_config=self.data_config,
            train=train,
            eval=evaluation,
            labels=self.labels,
            tokenizer=self.tokenizer,
            seed=seed,
            batch_size=training.get("batch_size", 32),
            eval_batch_size=training.get("eval_batch_size", 64),
        )
