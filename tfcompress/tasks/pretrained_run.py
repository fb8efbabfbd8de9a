"""A finished `tfcompress pretrain` run, read back: its stage, vocabularies and encoder."""

import dataclasses
import json
from pathlib import Path

import yaml

from tfcompress.data import WordPieceTokenizer
from tfcompress.data.vocabulary import read_vocabulary
from tfcompress.errors import ConfigError
from tfcompress.run_directory import RunDirectory, load_keras_model

PRETRAIN_RUN_FILES = ("config.yaml", "tokenizer.json", "vocab.txt", "model.keras")


def is_pretrain_run(path) -> bool:
    """Whether `path` looks like a `tfcompress pretrain` run directory (finished or not)."""
    config = Path(path) / "config.yaml"
    if not config.is_file():
        return False
    values = yaml.safe_load(config.read_text())
    return isinstance(values, dict) and "stage" in values and "masking" in values


@dataclasses.dataclass
class PretrainedRun:
    """What a finished pretrain run left.

    `vocab.txt` is the run's home vocabulary (the student's for stage II and NoKD, the
    teacher's for stage I); stage I also leaves `student_vocab.txt`, the vocabulary of
    its second word table.

    Args:
        directory: the run directory.
        config: its `config.yaml` as a dict.
        lower_case: whether its tokenizer lower-cases.
        sequence_length: the length it was pretrained at (rows of the position table).
        metrics: its `metrics.json`.

    Example:

    ```python
    run = PretrainedRun.read("runs/mixed_vocab/stage2_h96", role="model.checkpoint")
    encoder = run.load_encoder(pooling="mean")
    ```
    """

    directory: Path
    config: dict
    lower_case: bool
    sequence_length: int
    metrics: dict

    @classmethod
    def read(cls, directory, role="run", stages=("stage2", "nokd")):
        """Reads a finished run of one of `stages`; ConfigError names what is wrong."""
        directory = Path(directory)
        run = RunDirectory(directory)
        if not is_pretrain_run(directory):
            run.require_finished(role, PRETRAIN_RUN_FILES, "`tfcompress pretrain`")
            raise ConfigError(f"{role}: {directory} is not a `tfcompress pretrain` run")
        config = yaml.safe_load((directory / "config.yaml").read_text())
        if config["stage"] not in stages:
            raise ConfigError(
                f"{role}: {directory} is a {config['stage']} run; expected {' or '.join(stages)}"
            )
        extra = ("student_vocab.txt",) if config["stage"] == "stage1" else ()
        run.require_finished(role, PRETRAIN_RUN_FILES + extra, "`tfcompress pretrain`")
        settings = json.loads((directory / "tokenizer.json").read_text())
        return cls(
            directory=directory,
            config=config,
            lower_case=settings["lower_case"],
            sequence_length=settings["sequence_length"],
            metrics=json.loads((directory / "metrics.json").read_text()),
        )

    @property
    def stage(self) -> str:
        return self.config["stage"]

    def student_vocab(self) -> list[str]:
        name = "student_vocab.txt" if self.stage == "stage1" else "vocab.txt"
        return read_vocabulary(self.directory / name)

    def tokenizer(self, sequence_length) -> WordPieceTokenizer:
        """The student's tokenizer at `sequence_length` (at most the pretrained length)."""
        if sequence_length > self.sequence_length:
            raise ConfigError(
                f"model.sequence_length: {sequence_length} is longer than the "
                f"{self.sequence_length} tokens {self.directory} was pretrained at; use at most "
                f"{self.sequence_length}"
            )
        return WordPieceTokenizer(self.student_vocab(), sequence_length, self.lower_case)

    def load_masked_lm(self):
        return load_keras_model(self.directory / "model.keras")

    def load_encoder(self, pooling="cls", name="encoder"):
        """The pretrained encoder, rebuilt with `pooling`. MLM never trains the pooler: with
        `"cls"` it is copied at the values it was initialized with."""
        from tfcompress.models import Encoder, EncoderConfig
        from tfcompress.models.student_init import init_from_teacher

        pretrained = self.load_masked_lm().encoder
        config = EncoderConfig.from_dict({**pretrained.config.to_dict(), "pooling": pooling})
        encoder = Encoder(config, name=name)
        init_from_teacher(encoder, pretrained)
        return encoder

    def student_table(self):
        """Stage I's second word table [student vocab, e]: what stage II starts from."""
        return self.load_masked_lm().encoder.embeddings.second_word_embeddings.numpy()
