"""Loss weights and settings of a distillation run (Model Garden style: a small dataclass)."""

import dataclasses

from tfcompress.errors import ConfigError

HIDDEN_TARGETS = ("cls", "tokens", "words")
TOKEN_POSITIONS = ("all", "word_starts")
ATTENTION_TARGETS = ("probs", "scores")


@dataclasses.dataclass
class DistillationConfig:
    """Weights of each loss term (0 disables it) and how layers are paired.

    ground_truth   CE against labels
    soft_targets   KL(teacher_T ‖ student_T) · T²
    hidden         MSE of hidden states of mapped layers: `hidden_target` "cls" is PKD's
                   (L2-normalized [CLS] states), "tokens" every real token's state (TinyBERT,
                   KDLSQ), "words" the L2-normalized state at each word's first piece (token
                   tasks; aligned word by word, so it works across vocabularies)
    attention      MSE of attention maps of mapped layers (equal head counts):
                   `attention_target` "probs" (after softmax) or "scores" (before it, KDLSQ)
    embedding      MSE of the embedding outputs (layer 0) over real tokens
    layer_map      "skip", "last", "all" (every layer to the same layer of an equally deep
                   teacher) or explicit [[student, teacher], ...] (1-based layers)
    token_positions where token-level soft targets apply: "all" real tokens, or only
                   "word_starts" (positions holding a label: the first piece of each word),
                   what a teacher with another vocabulary can be aligned on
    """

    ground_truth: float = 1.0
    soft_targets: float = 1.0
    temperature: float = 2.0
    hidden: float = 0.0
    attention: float = 0.0
    embedding: float = 0.0
    layer_map: str | list = "skip"
    hidden_target: str = "cls"
    attention_target: str = "probs"
    token_positions: str = "all"

    def __post_init__(self):
        if self.token_positions not in TOKEN_POSITIONS:
            raise ConfigError(
                f"token_positions: {self.token_positions!r} unknown; use one of "
                f"{', '.join(TOKEN_POSITIONS)}"
            )
        for key in ("ground_truth", "soft_targets", "hidden", "attention", "embedding"):
            if getattr(self, key) < 0:
                raise ConfigError(f"{key}: a loss weight must be >= 0, got {getattr(self, key)}")
        if self.hidden_target not in HIDDEN_TARGETS:
            raise ConfigError(
                f"hidden_target: {self.hidden_target!r} unknown; use one of {', '.join(HIDDEN_TARGETS)}"
            )
        if self.attention_target not in ATTENTION_TARGETS:
            raise ConfigError(
                f"attention_target: {self.attention_target!r} unknown; use one of "
                f"{', '.join(ATTENTION_TARGETS)}"
            )
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
    def uses_teacher(self):
        """Whether any loss term reads the teacher (ground truth alone does not)."""
        return bool(self.soft_targets or self.hidden or self.attention or self.embedding)

    @property
    def needs_intermediate_features(self):
        return bool(
            self.attention or self.embedding or (self.hidden and self.hidden_target == "tokens")
        )
