"""The `tfcompress quantize` recipe: a finished float run, a W-E-A scheme, KDLSQ losses."""

import dataclasses
from pathlib import Path

from tfcompress.config_loading import (
    dataclass_from_dict,
    read_yaml,
    require_positive,
    resolve_path,
)
from tfcompress.distill.distillation_config import DistillationConfig
from tfcompress.errors import ConfigError
from tfcompress.models.quantized_copy import QuantizationScheme, StepInitialization

# KDLSQ's ablation (Tables 4-5): LSQ alone trains on the labels; +KD replaces them with
# the float teacher's hidden states, attention scores and logits; +Lgt adds the labels back.
_KD_TERMS = {"soft_targets": 1.0, "hidden": 1.0, "attention": 1.0, "embedding": 1.0}
METHODS = {
    "lsq": {"ground_truth": 1.0, "soft_targets": 0.0},
    "lsq_kd": {"ground_truth": 0.0, **_KD_TERMS},
    "lsq_kd_gt": {"ground_truth": 1.0, **_KD_TERMS},
}
_KDLSQ_FORMS = {
    "temperature": 1.0,
    "layer_map": "all",
    "hidden_target": "tokens",
    "attention_target": "scores",
}


@dataclasses.dataclass
class QuantizationConfig:
    """`scheme` in W-E-A notation; steps per tensor or (weights) per output channel; how
    the steps start (see `StepInitialization`)."""

    scheme: str = "8-8-8"
    per_channel: bool = False
    init: str = "algorithm1"
    weight_truncation: float | None = None
    activation_truncation: float | None = None
    weight_clip: float = 4.0
    activation_clip: float = 16.0

    def __post_init__(self):
        QuantizationScheme.parse(self.scheme, where="scheme")
        _ = self.step_initialization  # building it validates init and its settings

    @property
    def parsed_scheme(self):
        return QuantizationScheme.parse(self.scheme)

    @property
    def step_initialization(self):
        return StepInitialization(
            self.init,
            self.weight_truncation,
            self.activation_truncation,
            self.weight_clip,
            self.activation_clip,
        )


@dataclasses.dataclass
class QuantizeTrainingConfig:
    """Separate learning rates for weights, weight steps and activation steps, each decayed
    linearly to 0 over the run (KDLSQ); weight decay applies to the weights only."""

    epochs: int = 1
    batch_size: int = 32
    learning_rate: float = 2e-5
    weight_step_learning_rate: float = 1e-5
    activation_step_learning_rate: float = 1e-3
    weight_decay: float = 0.01
    steps_per_epoch: int | None = None
    eval_batch_size: int = 64

    def __post_init__(self):
        require_positive(self, "epochs", "batch_size", "eval_batch_size")
        if self.steps_per_epoch is not None:
            require_positive(self, "steps_per_epoch")
        for key in ("learning_rate", "weight_step_learning_rate", "activation_step_learning_rate"):
            if not 0 <= getattr(self, key) < 1:
                raise ConfigError(f"{key}: must be in [0, 1), got {getattr(self, key)}")


@dataclasses.dataclass
class QuantizeRunConfig:
    """`source`: a finished finetune or distill run (the float model, and the teacher).
    `data`: settings that replace the source run's data section (e.g. `train_subset`).
    `method`: lsq, lsq_kd or lsq_kd_gt; `distillation` overrides its loss weights."""

    source: str
    output_dir: str
    quantization: QuantizationConfig = dataclasses.field(default_factory=QuantizationConfig)
    method: str = "lsq_kd_gt"
    distillation: dict | None = None
    data: dict | None = None
    training: QuantizeTrainingConfig = dataclasses.field(default_factory=QuantizeTrainingConfig)
    seed: int = 0

    def __post_init__(self):
        if self.method not in METHODS:
            raise ConfigError(f"method: {self.method!r} unknown; use one of {', '.join(METHODS)}")
        _ = self.distillation_config  # building it validates the overrides

    @property
    def distillation_config(self):
        values = {**_KDLSQ_FORMS, **METHODS[self.method], **(self.distillation or {})}
        return dataclass_from_dict(DistillationConfig, values, "distillation")

    def to_dict(self):
        return dataclasses.asdict(self)


def quantize_config_from_dict(values, base_dir=None):
    config = dataclass_from_dict(QuantizeRunConfig, values, "config")
    if base_dir is not None:
        config.output_dir = resolve_path(config.output_dir, base_dir)
        config.source = resolve_path(config.source, base_dir)
        for key in ("train", "eval"):
            if (config.data or {}).get(key):
                config.data[key] = resolve_path(config.data[key], base_dir)
        tfds = (config.data or {}).get("tfds") or {}
        if tfds.get("data_dir"):
            tfds["data_dir"] = resolve_path(tfds["data_dir"], base_dir)
    return config


def load_quantize_config(path, overrides=None):
    return quantize_config_from_dict(read_yaml(path, overrides), base_dir=Path.cwd())
