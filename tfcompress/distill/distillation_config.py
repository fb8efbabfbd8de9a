"""Loss weights and settings of a distillation run (Model Garden style: a small dataclass)."""

import dataclasses

from tfcompress.errors import ConfigError


@dataclasses.dataclass
class DistillationConfig:
    """Weights of each loss term (0 disables it) and how layers are paired.

    ground_truth   CE against labels
    soft_targets   KL(teacher_T ‖ student_T) · T²
    hidden         PKD: MSE of L2-normalized [CLS] states of mapped layers
    attention      MSE of attention probabilities of mapped layers (equal head counts)
    embedding      MSE of the embedding outputs (layer 0) over real tokens
    layer_map      "skip", "last", or explicit [[student, teacher], ...] (1-based layers)
    """

    ground_truth: float = 1.0
    soft_targets: float = 1.0
    temperature: float = 2.0
    hidden: float = 0.0
    attention: float = 0.0
    embedding: float = 0.0
    layer_map: str | list = "skip"

    def __post_init__(self):
        for key in ("ground_truth", "soft_targets", "hidden", "attention", "embedding"):
            if getattr(self, key) < 0:
                raise ConfigError(f"{key}: a loss weight must be >= 0, got {getattr(self, key)}")
        if self.temperature <= 0:
            raise ConfigError(f"temperature: must be > 0, got {self.temperature}")
        if not isinstance(self.layer_map, str):
            valid = isinstance(self.layer_map, list) and all(
                isinstance(pair, list | tuple)
                and len(pair) == 2
                and all(isinstance(v, int) and not isinstance(v, bool) for v in pair)
                for pair in self.layer_map
            )
            if not valid:
                raise ConfigError(
                    "layer_map: expected skip, last or a list of [student, teacher] integer "
                    f"pairs, got {self.layer_map!r}"
                )
        if not any(
            getattr(self, k)
            for k in ("ground_truth", "soft_targets", "hidden", "attention", "embedding")
        ):
            raise ConfigError("ground_truth: every loss weight is 0; nothing would be trained")

    @property
    def needs_intermediate_features(self):
        return bool(self.attention or self.embedding)
