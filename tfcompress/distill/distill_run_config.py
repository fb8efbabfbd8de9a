"""The `tfcompress distill` recipe: teacher run, student shape, losses, PTP, strategy."""

import dataclasses
from pathlib import Path

from tfcompress.config_loading import dataclass_from_dict, read_yaml, resolve_path
from tfcompress.distill.distillation_config import DistillationConfig
from tfcompress.distill.ptp import PTP_LABEL_NAMES
from tfcompress.errors import ConfigError
from tfcompress.models.task_models import TASK_TYPES
from tfcompress.tasks.data_config import DataConfig, check_task_matches_data, resolve_data_paths
from tfcompress.training.finetune_config import TrainingConfig

STUDENT_INITS = ("teacher", "scratch")
STRATEGIES = ("default", "mirrored", "multi_worker", "tpu")


@dataclasses.dataclass
class StudentConfig:
    """The student: the teacher's encoder with `num_layers` blocks (and any `encoder`
    overrides), initialized from teacher blocks `teacher_layers` (default the first k)
    or from scratch, optionally run with SPS (`sps_step` 1 or 2).

    Or `checkpoint`: a finished `tfcompress pretrain` stage2/nokd run (a mixed-vocabulary
    student with a vocabulary of its own), read at `sequence_length` tokens (default the
    teacher's) with `pooling`; the teacher's outputs are then computed on its own
    tokenization and aligned to the student's (sentence logits as they are, token logits
    word by word on each word's first piece)."""

    num_layers: int = 3
    init: str = "teacher"
    teacher_layers: list | None = None
    encoder: dict | None = None
    sps_step: int = 0
    sps_reuse_top: int | None = None
    checkpoint: str | None = None
    sequence_length: int | None = None
    pooling: str = "cls"

    def __post_init__(self):
        if self.checkpoint and (self.encoder or self.sps_step or self.teacher_layers):
            raise ConfigError(
                "checkpoint: a pretrained student brings its own encoder; drop encoder, "
                "sps_step and teacher_layers"
            )
        if self.sequence_length is not None and not self.checkpoint:
            raise ConfigError(
                "sequence_length: only for a student with its own vocabulary (checkpoint); "
                "otherwise the student reads the teacher's tokens"
            )
        if self.init not in STUDENT_INITS:
            raise ConfigError(f"init: {self.init!r} unknown; use one of {', '.join(STUDENT_INITS)}")
        if self.sps_step not in (0, 1, 2):
            raise ConfigError(f"sps_step: 0 (off), 1 or 2, got {self.sps_step}")
        if self.num_layers <= 0:
            raise ConfigError(f"num_layers: must be positive, got {self.num_layers}")
        if self.teacher_layers is not None and not all(
            isinstance(i, int) and not isinstance(i, bool) and i >= 0 for i in self.teacher_layers
        ):
            raise ConfigError(
                f"teacher_layers: 0-based teacher block indices, got {self.teacher_layers!r}"
            )
        for key in ("num_layers", "layer_plan", "vocab_size", "max_length"):
            if key in (self.encoder or {}):
                raise ConfigError(
                    f"encoder.{key}: set by the student section or the teacher; remove it"
                )


@dataclasses.dataclass
class PTPConfig:
    """Pretraining with the teacher's predictions before KD (classification only)."""

    variant: str | None = None
    threshold: float = 0.8
    epochs: int = 1

    def __post_init__(self):
        if self.variant is not None and self.variant not in PTP_LABEL_NAMES:
            raise ConfigError(
                f"variant: {self.variant!r} unknown; use one of {', '.join(PTP_LABEL_NAMES)} or null"
            )
        if not 0.5 <= self.threshold < 1.0:
            raise ConfigError(f"threshold: must be in [0.5, 1), got {self.threshold}")
        if self.epochs < 1:
            raise ConfigError(f"epochs: PTP needs at least 1 epoch, got {self.epochs}")


@dataclasses.dataclass
class DistillRunConfig:
    task: str
    output_dir: str
    teacher: str
    data: DataConfig
    student: StudentConfig = dataclasses.field(default_factory=StudentConfig)
    distillation: DistillationConfig = dataclasses.field(default_factory=DistillationConfig)
    ptp: PTPConfig = dataclasses.field(default_factory=PTPConfig)
    training: TrainingConfig = dataclasses.field(default_factory=TrainingConfig)
    cache_teacher: bool = True
    strategy: str = "default"
    tpu: str | None = None
    seed: int = 0

    def __post_init__(self):
        if self.task not in TASK_TYPES:
            raise ConfigError(f"task: {self.task!r} unknown; use one of {', '.join(TASK_TYPES)}")
        if self.strategy not in STRATEGIES:
            raise ConfigError(
                f"strategy: {self.strategy!r} unknown; use one of {', '.join(STRATEGIES)}"
            )
        check_task_matches_data(self.task, self.data)
        if self.ptp.variant and self.task != "classification":
            raise ConfigError("ptp.variant: PTP is defined for sequence classification only")
        if self.student.checkpoint:
            self._check_cross_vocabulary()

    def _check_cross_vocabulary(self):
        d = self.distillation
        for key in ("hidden", "attention", "embedding"):
            if key == "hidden" and d.hidden_target in ("cls", "words"):
                continue  # [CLS] and word starts exist in both tokenizations
            if getattr(d, key):
                raise ConfigError(
                    f"distillation.{key}: a student with its own vocabulary sees other tokens "
                    "than the teacher; only soft_targets, ground_truth and hidden with "
                    "hidden_target cls or words apply (set it to 0)"
                )
        if not self.cache_teacher:
            raise ConfigError(
                "cache_teacher: a student with its own vocabulary needs the teacher's outputs "
                "computed on the teacher's tokens beforehand; set it to true"
            )
        if d.token_positions != "word_starts" and self.task != "classification":
            # Token logits exist only at word starts once aligned across vocabularies.
            self.distillation = dataclasses.replace(d, token_positions="word_starts")

    def to_dict(self):
        return dataclasses.asdict(self)


def distill_config_from_dict(values, base_dir=None):
    config = dataclass_from_dict(DistillRunConfig, values, "config")
    if base_dir is not None:
        config.output_dir = resolve_path(config.output_dir, base_dir)
        config.teacher = resolve_path(config.teacher, base_dir)
        config.student.checkpoint = resolve_path(config.student.checkpoint, base_dir)
        resolve_data_paths(config.data, base_dir)
    return config


def load_distill_config(path, overrides=None):
    return distill_config_from_dict(read_yaml(path, overrides), base_dir=Path.cwd())
