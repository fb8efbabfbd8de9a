"""The encoder's hyper-parameters, validated with errors that name the key."""

import dataclasses

from tfcompress.errors import ConfigError
from tfcompress.layers.activations import SUPPORTED_ACTIVATIONS

POOLING_MODES = ("cls", "mean")


@dataclasses.dataclass
class EncoderConfig:
    """Dimensions of a BERT encoder.

    `num_layers` counts the blocks that own variables. `layer_plan`, when set,
    lists the layers that *run*, bottom to top, as `(block_index, swap_query_key)`
    pairs: `[(0, False), (1, False), (0, True), (1, True)]` runs 4 layers with the
    parameters of 2, the top two reusing the bottom two with query and key
    swapped (Pea-KD SPS). The default runs each block once, in order.

    Args:
        vocab_size: int, rows of the word table (required).
        hidden_size: int, the model width. Defaults to `256`.
        num_layers: int, blocks that own variables. Defaults to `4`.
        num_heads: int, attention heads; must divide `hidden_size`. Defaults to `4`.
        intermediate_size: int, the feed-forward inner width. Defaults to `1024`.
        max_length: int, the longest sequence (rows of the position table).
            Defaults to `512`.
        embedding_dim: int or `None`, the word table's width if narrower than
            `hidden_size` (an up-projection maps it up). Defaults to `None` (= hidden).
        type_vocab_size: int, how many segment ids there are. Defaults to `2`.
        dropout: float in [0, 1), dropout on embeddings and block outputs.
            Defaults to `0.1`.
        attention_dropout: float in [0, 1), dropout on attention probabilities.
            Defaults to `0.1`.
        hidden_act: str, a name from `SUPPORTED_ACTIVATIONS` (Hugging Face spelling:
            `"gelu"` is exact erf GELU, `"gelu_new"` the tanh one). Defaults to `"gelu"`.
        layer_norm_epsilon: float, every LayerNorm's epsilon. Defaults to `1e-12`.
        initializer_range: float, stddev of the truncated-normal initializer.
            Defaults to `0.02`.
        layer_plan: list of `(block_index, swap_query_key)` pairs or `None`: which
            blocks run, bottom to top. Defaults to `None` (each block once).
        pooling: `"cls"` (BERT: a tanh dense layer on the [CLS] state) or `"mean"`
            (sentence-transformers: the mean of the real tokens' states, no pooler
            variables). Defaults to `"cls"`.
        second_vocab_size: int or `None`, rows of a second word table (mixed-vocabulary
            stage I: the student's vocabulary) whose ids follow the first table's:
            id `vocab_size + i` is its row i. Defaults to `None` (one vocabulary).
        second_embedding_dim: int, the second table's width (the student's hidden
            size); a trainable affine projection maps it to `hidden_size`. Required
            with `second_vocab_size`.

    Example:

    ```python
    config = EncoderConfig(
        vocab_size=30522, hidden_size=256, num_layers=2, num_heads=4, intermediate_size=1024,
        layer_plan=[(0, False), (1, False), (0, True), (1, True)],
    )
    config.num_executed_layers  # 4
    EncoderConfig.from_dict({"vocab_size": 30522, "hidden_size": 128, "num_heads": 2})
    ```
    """

    vocab_size: int
    hidden_size: int = 256
    num_layers: int = 4
    num_heads: int = 4
    intermediate_size: int = 1024
    max_length: int = 512
    embedding_dim: int | None = None
    type_vocab_size: int = 2
    dropout: float = 0.1
    attention_dropout: float = 0.1
    hidden_act: str = "gelu"
    layer_norm_epsilon: float = 1e-12
    initializer_range: float = 0.02
    layer_plan: list | None = None
    pooling: str = "cls"
    second_vocab_size: int | None = None
    second_embedding_dim: int | None = None

    def __post_init__(self):
        if self.layer_plan is not None:
            self.layer_plan = [(int(block), bool(swap)) for block, swap in self.layer_plan]
        self.validate()

    @classmethod
    def from_dict(cls, values, where="encoder"):
        """Builds a config from a mapping (e.g. YAML); unknown keys are errors."""
        if not isinstance(values, dict):
            raise ConfigError(f"{where}: expected a mapping of encoder settings")
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ConfigError(
                f"{where}.{unknown[0]}: unknown encoder setting; known: {', '.join(sorted(known))}"
            )
        if "vocab_size" not in values:
            raise ConfigError(f"{where}.vocab_size: required")
        try:
            return cls(**values)
        except (TypeError, ValueError) as e:
            if isinstance(e, ConfigError):
                raise ConfigError(f"{where}.{e}") from None
            raise ConfigError(f"{where}: {e}") from None

    def to_dict(self):
        values = dataclasses.asdict(self)
        if self.layer_plan is not None:
            values["layer_plan"] = [list(step) for step in self.layer_plan]
        return values

    @property
    def plan(self):
        """The executed layers as (block_index, swap_query_key) pairs."""
        if self.layer_plan is None:
            return [(i, False) for i in range(self.num_layers)]
        return list(self.layer_plan)

    @property
    def num_executed_layers(self):
        return len(self.plan)

    def validate(self):
        positive = (
            "vocab_size",
            "hidden_size",
            "num_layers",
            "num_heads",
            "intermediate_size",
            "max_length",
            "type_vocab_size",
        )
        for key in positive:
            value = getattr(self, key)
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise ConfigError(f"{key}: must be a positive integer, got {value!r}")
        if self.hidden_size % self.num_heads:
            raise ConfigError(
                f"num_heads: hidden_size {self.hidden_size} is not divisible by {self.num_heads} heads"
            )
        if self.embedding_dim is not None and not (0 < self.embedding_dim <= self.hidden_size):
            raise ConfigError(
                f"embedding_dim: must be in (0, hidden_size={self.hidden_size}], got {self.embedding_dim}"
            )
        for key in ("dropout", "attention_dropout", "layer_norm_epsilon", "initializer_range"):
            value = getattr(self, key)
            if not isinstance(value, int | float) or isinstance(value, bool):
                raise ConfigError(f"{key}: must be a number, got {value!r}")
        for key in ("dropout", "attention_dropout"):
            if not 0.0 <= getattr(self, key) < 1.0:
                raise ConfigError(f"{key}: must be in [0, 1), got {getattr(self, key)!r}")
        if self.hidden_act not in SUPPORTED_ACTIVATIONS:
            raise ConfigError(
                f"hidden_act: {self.hidden_act!r} is not supported; use one of "
                f"{', '.join(SUPPORTED_ACTIVATIONS)}"
            )
        if self.pooling not in POOLING_MODES:
            raise ConfigError(
                f"pooling: {self.pooling!r} unknown; use one of {', '.join(POOLING_MODES)}"
            )
        self._validate_plan()
        self._validate_second_vocab()

    @property
    def total_vocab_size(self):
        """Rows over both word tables: the size of the id space (and of MLM logits)."""
        return self.vocab_size + (self.second_vocab_size or 0)

    def _validate_second_vocab(self):
        if (self.second_vocab_size is None) != (self.second_embedding_dim is None):
            raise ConfigError(
                "second_vocab_size: give it together with second_embedding_dim (or neither)"
            )
        if self.second_vocab_size is None:
            return
        for key in ("second_vocab_size", "second_embedding_dim"):
            value = getattr(self, key)
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise ConfigError(f"{key}: must be a positive integer, got {value!r}")
        if self.embedding_dim not in (None, self.hidden_size):
            raise ConfigError(
                "embedding_dim: a second vocabulary needs the first word table at the full "
                f"hidden size {self.hidden_size}; drop embedding_dim"
            )

    def _validate_plan(self):
        if self.layer_plan is None:
            return
        used = set()
        for step, (block, swap) in enumerate(self.layer_plan):
            if not 0 <= block < self.num_layers:
                raise ConfigError(
                    f"layer_plan: step {step} uses block {block}, but there are {self.num_layers} blocks"
                )
            if swap and block not in used:
                raise ConfigError(
                    f"layer_plan: step {step} swaps query/key of block {block} before the block "
                    "has run unswapped; reuse comes after the original"
                )
            used.add(block)
        missing = sorted(set(range(self.num_layers)) - used)
        if missing:
            raise ConfigError(f"layer_plan: blocks {missing} never run; drop them from num_layers")
