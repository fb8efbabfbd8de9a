"""The `tfcompress pretrain` recipe: mixed-vocabulary stage I, stage II, or the NoKD baseline."""

import dataclasses
from pathlib import Path
from typing import Any

from tfcompress.config_loading import (
    dataclass_from_dict,
    read_yaml,
    require_positive,
    resolve_path,
)
from tfcompress.data.mlm_examples import MaskingConfig
from tfcompress.errors import ConfigError
from tfcompress.training.finetune_config import TrainingConfig

# stage1: the teacher learns the student vocabulary's embeddings through mixed segmentation;
# stage2: the student starts from those embeddings; nokd: the same student from scratch.
STAGES = ("stage1", "stage2", "nokd")
_STUDENT_ENCODER_KEYS = ("hidden_size", "num_layers", "num_heads", "intermediate_size")


@dataclasses.dataclass
class CorpusConfig:
    """Text files with one paragraph per line; `eval` ones are held out for the masked
    accuracy reported at the end (`eval_examples` fixed, seeded examples). `lower_case`
    applies to NoKD; stage I follows its teacher's casing, stage II its stage I's."""

    train: list
    eval: list
    max_paragraphs: int | None = None
    eval_examples: int = 512
    lower_case: bool = True

    def __post_init__(self):
        for key in ("train", "eval"):
            files = getattr(self, key)
            if not files or not all(isinstance(f, str) and f for f in files):
                raise ConfigError(f"{key}: expected a list of corpus file paths, got {files!r}")
        require_positive(self, "eval_examples")
        if self.max_paragraphs is not None:
            require_positive(self, "max_paragraphs")


@dataclasses.dataclass
class TeacherConfig:
    """Stage I's teacher: a Hugging Face BERT checkpoint folder. `freeze_layers` keeps its
    transformer blocks fixed (both tables, the projection and the MLM head still train)."""

    checkpoint: str
    freeze_layers: bool = False


@dataclasses.dataclass
class StudentConfig:
    """The student: its vocabulary (stage I and NoKD; stage II takes stage I's) and its
    encoder. Stage I uses `encoder.hidden_size` as the width of the student table.

    `center_table` (stage II): start from stage I's table minus its mean row. Stage I reads
    the table through an affine up-projection, whose bias absorbs any shift common to all
    rows, so that mean is free to drift; the student has no such projection, and a common
    component makes every token's embedding alike (L6-H192's stage I left a mean row half as
    long as its rows; centering it did not rescue that stage II, see docs/results.md)."""

    encoder: dict[str, Any]
    vocab: str | None = None
    center_table: bool = False

    def __post_init__(self):
        missing = [k for k in _STUDENT_ENCODER_KEYS if k not in self.encoder]
        if missing:
            raise ConfigError(f"encoder.{missing[0]}: required")
        for key in ("vocab_size", "embedding_dim", "second_vocab_size", "second_embedding_dim"):
            if key in self.encoder:
                raise ConfigError(
                    f"encoder.{key}: set by the vocabulary (the student's word table is "
                    "hidden_size wide); remove it"
                )


@dataclasses.dataclass
class StageTwoDistillConfig:
    """Stage II with the stage-I teacher reading the student's batch (`StageTwoDistiller`):
    `hidden_weight` on every layer's per-token normalized MSE through one shared
    up-projection, `soft_weight` on the masked tokens' soft targets over the student
    vocabulary at `temperature`. The MLM loss keeps weight 1."""

    hidden_weight: float = 1.0
    soft_weight: float = 0.0
    temperature: float = 1.0

    def __post_init__(self):
        for key in ("hidden_weight", "soft_weight"):
            value = getattr(self, key)
            if not isinstance(value, (int, float)) or value < 0:
                raise ConfigError(f"distill.{key}: expected a number >= 0, got {value!r}")
        if self.hidden_weight == 0 and self.soft_weight == 0:
            raise ConfigError(
                "distill: hidden_weight and soft_weight are both 0; remove the section for "
                "plain stage II"
            )
        if self.temperature <= 0:
            raise ConfigError(f"distill.temperature: must be positive, got {self.temperature}")


@dataclasses.dataclass
class PretrainTrainingConfig(TrainingConfig):
    """Finetune's settings, counted in steps: the corpus is an endless stream of freshly
    masked examples, so `steps_per_epoch` is required."""

    epochs: int = 10
    steps_per_epoch: int = 100
    learning_rate: float = 1e-4
    warmup_ratio: float = 0.05

    def __post_init__(self):
        super().__post_init__()
        require_positive(self, "steps_per_epoch")


@dataclasses.dataclass
class PretrainRunConfig:
    stage: str
    output_dir: str
    corpus: CorpusConfig
    student: StudentConfig
    teacher: TeacherConfig | None = None
    stage_one: str | None = None
    distill: StageTwoDistillConfig | None = None
    masking: MaskingConfig = dataclasses.field(default_factory=MaskingConfig)
    training: PretrainTrainingConfig = dataclasses.field(default_factory=PretrainTrainingConfig)
    seed: int = 0

    def __post_init__(self):
        if self.stage not in STAGES:
            raise ConfigError(f"stage: {self.stage!r} unknown; use one of {', '.join(STAGES)}")
        needs = {
            "stage1": ("teacher", "student.vocab"),
            "stage2": ("stage_one",),
            "nokd": ("student.vocab",),
        }[self.stage]
        for key in needs:
            if not _dotted(self, key):
                raise ConfigError(f"{key}: required for stage {self.stage}")
        unused = {
            "stage1": ("stage_one", "student.center_table", "distill"),
            "stage2": ("teacher", "student.vocab"),
            "nokd": ("teacher", "stage_one", "student.center_table", "distill"),
        }[self.stage]
        for key in unused:
            if _dotted(self, key):
                hint = " (stage II takes stage I's vocabulary)" if key == "student.vocab" else ""
                raise ConfigError(f"{key}: not used by stage {self.stage}; remove it{hint}")

    def to_dict(self):
        return dataclasses.asdict(self)


def _dotted(config, key):
    for part in key.split("."):
        config = getattr(config, part, None)
    return config


def pretrain_config_from_dict(values, base_dir=None):
    """Validates a mapping; relative paths resolve against `base_dir`."""
    for key, section in (("teacher", TeacherConfig), ("distill", StageTwoDistillConfig)):
        if isinstance(values, dict) and isinstance(values.get(key), dict):
            values = {**values, key: dataclass_from_dict(section, values[key], key)}
    config = dataclass_from_dict(PretrainRunConfig, values, "config")
    if base_dir is not None:
        base_dir = Path(base_dir)
        config.output_dir = resolve_path(config.output_dir, base_dir)
        config.stage_one = resolve_path(config.stage_one, base_dir)
        config.student.vocab = resolve_path(config.student.vocab, base_dir)
        if config.teacher:
            config.teacher.checkpoint = resolve_path(config.teacher.checkpoint, base_dir)
        config.corpus.train = [resolve_path(f, base_dir) for f in config.corpus.train]
        config.corpus.eval = [resolve_path(f, base_dir) for f in config.corpus.eval]
    return config


def load_pretrain_config(path, overrides=None):
    return pretrain_config_from_dict(read_yaml(path, overrides), base_dir=Path.cwd())
