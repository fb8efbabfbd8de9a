"""The one BERT encoder every teacher and student is built from."""

import keras
from keras import ops

from tfcompress.layers.bert_embeddings import BertEmbeddings
from tfcompress.layers.fake_quantizer import clone_quantizer, serialize_quantizer
from tfcompress.layers.quantized_dense import QuantizedDense
from tfcompress.layers.transformer_block import TransformerBlock
from tfcompress.models.encoder_config import EncoderConfig

INPUT_NAMES = ("token_ids", "segment_ids", "padding_mask")

# Additive bias for padded keys. -1e4 (BERT's value) already gives exactly zero
# probability in float32 and keeps score ranges sane for integer export.
_MASK_BIAS = -10000.0


@keras.saving.register_keras_serializable(package="tfcompress")
class Encoder(keras.layers.Layer):
    """A post-LayerNorm BERT encoder (GELU, learned positions, segment embeddings).

    Call it on `{"token_ids", "segment_ids", "padding_mask"}` (int [B, S]); it
    returns a dict with `sequence_output` [B, S, H], `pooled_output` [B, H],
    `hidden_states` (embedding output + one per executed layer),
    `attention_probs` and `attention_scores` (one [B, heads, S, S] per executed
    layer; scores are pre-softmax and unmasked). Every KD loss is a function of
    two such dicts.

    Weight sharing follows `config.layer_plan`; quantizer templates apply to
    every transformer projection (`weight_quantizer` on kernels,
    `activation_quantizer` on inputs and both attention matmuls) and to the
    word table (`embedding_quantizer`). Pooler and heads stay float.

    Args:
        config: an `EncoderConfig`, or its `to_dict()` form.
        weight_quantizer: a `Quantizer` template for every transformer projection
            kernel, or `None` (identity).
        activation_quantizer: a `Quantizer` template for every transformer
            projection input and both attention matmuls, or `None`.
        embedding_quantizer: a `Quantizer` template for the word table, or `None`.
        output_quantizer: a `Quantizer` template for the outputs of the projections
            whose outputs feed float ops (attention output, intermediate, output), or
            `None`: what an integer export writes as int8 there.
        **kwargs: base layer arguments such as `name` and `dtype` (for example
            `dtype="mixed_bfloat16"`: every sublayer takes the encoder's policy).

    Example:

    ```python
    config = EncoderConfig(
        vocab_size=1000, hidden_size=64, num_layers=2, num_heads=4, intermediate_size=256
    )
    encoder = Encoder(config)
    inputs = {
        "token_ids": np.array([[2, 15, 9, 3, 0]], "int32"),
        "segment_ids": np.zeros((1, 5), "int32"),
        "padding_mask": np.array([[1, 1, 1, 1, 0]], "int32"),
    }
    outputs = encoder(inputs)
    outputs["sequence_output"]  # [1, 5, 64]
    len(outputs["hidden_states"])  # 3: embeddings + 2 layers
    ```
    """

    def __init__(
        self,
        config,
        weight_quantizer=None,
        activation_quantizer=None,
        embedding_quantizer=None,
        output_quantizer=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if isinstance(config, dict):
            config = EncoderConfig.from_dict(config)
        self.config = config
        self.weight_quantizer = clone_quantizer(weight_quantizer)
        self.activation_quantizer = clone_quantizer(activation_quantizer)
        self.embedding_quantizer = clone_quantizer(embedding_quantizer)
        self.output_quantizer = clone_quantizer(output_quantizer)
        initializer = keras.initializers.TruncatedNormal(stddev=config.initializer_range)
        self.embeddings = BertEmbeddings(
            config.vocab_size,
            config.hidden_size,
            config.max_length,
            type_vocab_size=config.type_vocab_size,
            embedding_dim=config.embedding_dim,
            dropout=config.dropout,
            layer_norm_epsilon=config.layer_norm_epsilon,
            initializer=initializer,
            embedding_quantizer=self.embedding_quantizer,
            second_vocab_size=config.second_vocab_size,
            second_embedding_dim=config.second_embedding_dim,
            dtype=self.dtype_policy,
            name="embeddings",
        )
        self.blocks = [
            self._make_block(f"block_{i}", initializer) for i in range(config.num_layers)
        ]
        self.executed_blocks = self._blocks_in_run_order(initializer)
        self.pooler = None
        if config.pooling == "cls":
            self.pooler = QuantizedDense(
                config.hidden_size,
                activation="tanh",
                kernel_initializer=initializer,
                dtype=self.dtype_policy,
                name="pooler",
            )

    def _make_block(self, name, initializer, share_from=None, swap_query_key=False):
        c = self.config
        return TransformerBlock(
            c.hidden_size,
            c.num_heads,
            c.intermediate_size,
            hidden_act=c.hidden_act,
            dropout=c.dropout,
            attention_dropout=c.attention_dropout,
            layer_norm_epsilon=c.layer_norm_epsilon,
            kernel_initializer=initializer,
            weight_quantizer=self.weight_quantizer,
            activation_quantizer=self.activation_quantizer,
            output_quantizer=self.output_quantizer,
            share_from=share_from,
            swap_query_key=swap_query_key,
            dtype=self.dtype_policy,
            name=name,
        )

    def _blocks_in_run_order(self, initializer):
        # A block's first run is the block itself; every later run is a view block that
        # owns no weights and runs the base's (swapped or not), with activation quantizers
        # of its own.
        executed, seen = [], set()
        for step, (index, swap) in enumerate(self.config.plan):
            if index in seen:
                executed.append(
                    self._make_block(f"shared_block_{step}", initializer, self.blocks[index], swap)
                )
            else:
                executed.append(self.blocks[index])
                seen.add(index)
        return executed

    def build(self, input_shape=None):
        hidden_shape = (None, None, self.config.hidden_size)
        self.embeddings.build()
        for block in self.blocks:
            block.build(hidden_shape)
        for block in self.executed_blocks:
            if not block.built:
                block.build(hidden_shape)
        if self.pooler is not None:
            self.pooler.build((None, self.config.hidden_size))

    def call(self, inputs, training=None):
        token_ids = ops.cast(inputs["token_ids"], "int32")
        segment_ids = ops.cast(inputs["segment_ids"], "int32")
        padding_mask = ops.cast(inputs["padding_mask"], self.compute_dtype)
        attention_bias = (1.0 - padding_mask[:, None, None, :]) * _MASK_BIAS
        hidden = self.embeddings(token_ids, segment_ids, training=training)
        hidden_states, attention_probs, attention_scores = [hidden], [], []
        for block in self.executed_blocks:
            hidden, probs, scores = block(hidden, attention_bias=attention_bias, training=training)
            hidden_states.append(hidden)
            attention_probs.append(probs)
            attention_scores.append(scores)
        return {
            "sequence_output": hidden,
            "pooled_output": self._pool(hidden, padding_mask, training),
            "hidden_states": hidden_states,
            "attention_probs": attention_probs,
            "attention_scores": attention_scores,
        }

    def _pool(self, hidden, padding_mask, training):
        if self.pooler is not None:
            return self.pooler(hidden[:, 0, :], training=training)
        weights = padding_mask[:, :, None]
        return ops.sum(hidden * weights, axis=1) / ops.maximum(ops.sum(weights, axis=1), 1.0)

    def compute_output_shape(self, input_shape):
        shape = input_shape["token_ids"] if isinstance(input_shape, dict) else input_shape
        batch, seq = shape[0], shape[1]
        hidden = (batch, seq, self.config.hidden_size)
        attention = (batch, self.config.num_heads, seq, seq)
        layers = self.config.num_executed_layers
        return {
            "sequence_output": hidden,
            "pooled_output": (batch, self.config.hidden_size),
            "hidden_states": [hidden] * (layers + 1),
            "attention_probs": [attention] * layers,
            "attention_scores": [attention] * layers,
        }

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "config": self.config.to_dict(),
                "weight_quantizer": serialize_quantizer(self.weight_quantizer),
                "activation_quantizer": serialize_quantizer(self.activation_quantizer),
                "embedding_quantizer": serialize_quantizer(self.embedding_quantizer),
                "output_quantizer": serialize_quantizer(self.output_quantizer),
            }
        )
        return config
