"""The `tfcompress finetune` recipe: what to train, on what, for how long."""

import dataclasses
from pathlib import Path
from typing import Any

from tfcompress.config_loading import (
    dataclass_from_dict,
    read_yaml,
    require_positive,
    resolve_path,
)
from tfcompress.data.vocabulary import DEFAULT_RESERVED_TOKENS, ascii_tokens
from tfcompress.errors import ConfigError
from tfcompress.models.encoder_config import POOLING_MODES
from tfcompress.models.task_models import TASK_TYPES
from tfcompress.tasks.data_config import DataConfig, check_task_matches_data, resolve_data_paths

MIN_LEARNED_VOCAB = len(DEFAULT_RESERVED_TOKENS) + len(ascii_tokens())


@dataclasses.dataclass
class ModelConfig:
    """A teacher from a Hugging Face checkpoint dir, or an encoder from scratch.

    From scratch, the vocabulary is `vocab` (a vocab.txt) or learned from the
    training texts with `learn_vocab_size` tokens; `encoder` gives the other
    dimensions (vocab_size and max_length are filled in). `pooling` is how the
    sequence becomes one vector for sentence-level heads: `cls` (BERT's tanh pooler on
    [CLS]) or `mean` (the mean over real tokens, as sentence-transformers trained
    all-MiniLM-L6-v2).
    """

    checkpoint: str | None = None
    vocab: str | None = None
    learn_vocab_size: int | None = None
    encoder: dict[str, Any] | None = None
    sequence_length: int = 128
    head_dropout: float = 0.1
    lower_case: bool = True
    pooling: str = "cls"

    def __post_init__(self):
        if self.checkpoint and (self.encoder or self.vocab or self.learn_vocab_size):
            raise ConfigError(
                "checkpoint: a checkpoint brings its own encoder and vocab; drop encoder/vocab/"
                "learn_vocab_size or drop checkpoint"
            )
        if not self.checkpoint:
            if self.encoder is None:
                raise ConfigError("encoder: required when no checkpoint is given")
            if bool(self.vocab) == bool(self.learn_vocab_size):
                raise ConfigError(
                    "vocab: from scratch, give exactly one of vocab (a vocab.txt path) "
                    "or learn_vocab_size"
                )
            if self.learn_vocab_size is not None and self.learn_vocab_size < MIN_LEARNED_VOCAB:
                raise ConfigError(
                    f"learn_vocab_size: must be >= {MIN_LEARNED_VOCAB} (special tokens plus every "
                    f"printable ASCII character), got {self.learn_vocab_size}"
                )
            for key in ("vocab_size", "max_length", "pooling"):
                if key in self.encoder:
                    raise ConfigError(
                        f"encoder.{key}: set from the vocab / sequence_length / model.pooling; "
                        "remove it"
                    )
        if self.pooling not in POOLING_MODES:
            raise ConfigError(
                f"pooling: {self.pooling!r} unknown; use one of {', '.join(POOLING_MODES)}"
            )
        if not 8 <= self.sequence_length <= 512:
            raise ConfigError(f"sequence_length: must be in [8, 512], got {self.sequence_length}")


@dataclasses.dataclass
class TrainingConfig:
    epochs: int = 3
    batch_size: int = 32
    learning_rate: float = 5e-5
    warmup_ratio: float = 0.1
    weight_decay: float = 0.01
    steps_per_epoch: int | None = None
    eval_batch_size: int = 64

    def __post_init__(self):
        require_positive(self, "epochs", "batch_size", "eval_batch_size")
        if not 0 < self.learning_rate < 1:
            raise ConfigError(f"learning_rate: must be in (0, 1), got {self.learning_rate}")
        if not 0 <= self.warmup_ratio < 1:
            raise ConfigError(f"warmup_ratio: must be in [0, 1), got {self.warmup_ratio}")


@dataclasses.dataclass
class FinetuneConfig:
    task: str
    output_dir: str
    data: DataConfig
    model: ModelConfig = dataclasses.field(default_factory=ModelConfig)
    training: TrainingConfig = dataclasses.field(default_factory=TrainingConfig)
    seed: int = 0

    def __post_init__(self):
        if self.task not in TASK_TYPES:
            raise ConfigError(f"task: {self.task!r} unknown; use one of {', '.join(TASK_TYPES)}")
        check_task_matches_data(self.task, self.data)
        if self.data.phrase_fill is not None:
            raise ConfigError(
                "data.phrase_fill: the filled words have no gold tags, only what a teacher "
                "says of them; use it in a distill recipe (tfcompress distill)"
            )

    def to_dict(self):
        return dataclasses.asdict(self)


def finetune_config_from_dict(values, base_dir=None):
    """Validates a mapping; relative paths resolve against `base_dir` (the YAML's folder)."""
    config = dataclass_from_dict(FinetuneConfig, values, "config")
    if base_dir is not None:
        _resolve_paths(config, Path(base_dir))
    return config


def load_finetune_config(path, overrides=None):
    """Reads a YAML recipe; `overrides` ({"training.epochs": 1, ...}) replace single keys."""
    return finetune_config_from_dict(read_yaml(path, overrides), base_dir=Path.cwd())


def _resolve_paths(config, base_dir):
    config.output_dir = resolve_path(config.output_dir, base_dir)
    resolve_data_paths(config.data, base_dir)
    config.model.checkpoint = resolve_path(config.model.checkpoint, base_dir)
    config.model.vocab = resolve_path(config.model.vocab, base_dir)
