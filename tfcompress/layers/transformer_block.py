"""A post-LayerNorm BERT transformer block that can reuse another block's variables."""

import keras

from tfcompress.layers.fake_quantizer import clone_quantizer, serialize_quantizer
from tfcompress.layers.initializers import fresh_initializer
from tfcompress.layers.layer_norm import LayerNorm
from tfcompress.layers.multi_head_self_attention import MultiHeadSelfAttention
from tfcompress.layers.quantized_dense import QuantizedDense


@keras.saving.register_keras_serializable(package="tfcompress")
class TransformerBlock(keras.layers.Layer):
    """attention → dropout → add & LayerNorm → FFN → dropout → add & LayerNorm.

    Returns `(output, attention_probs, attention_scores)`.

    With `share_from=block`, this block owns no weights: it runs `block`'s
    attention, FFN and LayerNorms, and with `swap_query_key=True` its attention
    uses `block`'s key projection as query and query projection as key (Pea-KD
    SPS step 2; value, output, FFN and LayerNorms are shared as-is). Its
    activation quantizers are its own (see `MultiHeadSelfAttention`).

    Args:
        hidden_size: int, the model width; must be divisible by `num_heads`.
        num_heads: int, the number of attention heads.
        intermediate_size: int, the feed-forward network's inner width.
        hidden_act: str, the feed-forward activation, a name from
            `SUPPORTED_ACTIVATIONS`. Defaults to `"gelu"` (exact erf GELU).
        dropout: float, dropout after attention and after the feed-forward network.
            Defaults to `0.1`.
        attention_dropout: float, dropout on the attention probabilities.
            Defaults to `0.1`.
        layer_norm_epsilon: float, the epsilon of both LayerNorms. Defaults to `1e-12`.
        kernel_initializer: initializer for every kernel. Defaults to `"glorot_uniform"`.
        weight_quantizer: a `Quantizer` template for every projection kernel, or `None`.
        activation_quantizer: a `Quantizer` template for every projection input and
            both attention matmuls, or `None`.
        output_quantizer: a `Quantizer` template for the outputs of the attention
            output, intermediate and output projections, or `None`.
        share_from: a `TransformerBlock` whose variables this block runs, or `None`
            to own its own. Not serialized.
        swap_query_key: bool, with `share_from`: swap its query and key projections.
            Defaults to `False`.
        **kwargs: base layer arguments such as `name` and `dtype`.

    Example:

    ```python
    block = TransformerBlock(hidden_size=64, num_heads=4, intermediate_size=256)
    output, probs, scores = block(np.random.normal(size=(2, 10, 64)).astype("float32"))
    # Pea-KD SPS: a block that runs `block`'s variables with query and key swapped.
    reused = TransformerBlock(64, 4, 256, share_from=block, swap_query_key=True)
    ```
    """

    def __init__(
        self,
        hidden_size,
        num_heads,
        intermediate_size,
        hidden_act="gelu",
        dropout=0.1,
        attention_dropout=0.1,
        layer_norm_epsilon=1e-12,
        kernel_initializer="glorot_uniform",
        weight_quantizer=None,
        activation_quantizer=None,
        output_quantizer=None,
        share_from=None,
        swap_query_key=False,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.hidden_size = int(hidden_size)
        self.num_heads = int(num_heads)
        self.intermediate_size = int(intermediate_size)
        self.hidden_act = hidden_act
        self.dropout_rate = float(dropout)
        self.attention_dropout = float(attention_dropout)
        self.layer_norm_epsilon = float(layer_norm_epsilon)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.weight_quantizer = clone_quantizer(weight_quantizer)
        self.activation_quantizer = clone_quantizer(activation_quantizer)
        self.output_quantizer = clone_quantizer(output_quantizer)
        self.share_from = share_from
        self.swap_query_key = bool(swap_query_key)
        self.attention_dropout_layer = keras.layers.Dropout(
            self.dropout_rate, dtype=self.dtype_policy
        )
        self.output_dropout_layer = keras.layers.Dropout(self.dropout_rate, dtype=self.dtype_policy)
        self.attention = MultiHeadSelfAttention(
            self.hidden_size,
            self.num_heads,
            attention_dropout=self.attention_dropout,
            kernel_initializer=fresh_initializer(self.kernel_initializer),
            weight_quantizer=self.weight_quantizer,
            activation_quantizer=self.activation_quantizer,
            output_quantizer=self.output_quantizer,
            share_from=None if share_from is None else share_from.attention,
            swap_query_key=self.swap_query_key,
            dtype=self.dtype_policy,
            name="attention",
        )
        if share_from is None:
            self._create_feedforward()
        else:
            self._reuse_feedforward(share_from)

    def _create_feedforward(self):
        self.attention_layer_norm = LayerNorm(
            epsilon=self.layer_norm_epsilon, dtype=self.dtype_policy, name="attention_layer_norm"
        )
        self.intermediate_dense = self._dense(self.intermediate_size, "intermediate")
        self.output_dense = self._dense(self.hidden_size, "output")
        self.output_layer_norm = LayerNorm(
            epsilon=self.layer_norm_epsilon, dtype=self.dtype_policy, name="output_layer_norm"
        )

    def _reuse_feedforward(self, base):
        self.attention_layer_norm = base.attention_layer_norm
        # Views: the base's kernels and weight grids, this run's own activation quantizers.
        self.intermediate_dense = self._dense(
            self.intermediate_size, "intermediate", base.intermediate_dense
        )
        self.output_dense = self._dense(self.hidden_size, "output", base.output_dense)
        self.output_layer_norm = base.output_layer_norm

    def _dense(self, units, name, share_from=None):
        return QuantizedDense(
            units,
            activation=self.hidden_act if name == "intermediate" else None,
            kernel_initializer=fresh_initializer(self.kernel_initializer),
            input_quantizer=self.activation_quantizer,
            kernel_quantizer=self.weight_quantizer,
            output_quantizer=self.output_quantizer,
            share_from=share_from,
            dtype=self.dtype_policy,
            name=name,
        )

    def build(self, input_shape):
        if self.share_from is not None and not self.share_from.built:
            self.share_from.build(input_shape)
        self.attention.build(input_shape)
        self.intermediate_dense.build(input_shape)
        self.output_dense.build(tuple(input_shape[:-1]) + (self.intermediate_size,))
        if self.share_from is None:
            self.attention_layer_norm.build(input_shape)
            self.output_layer_norm.build(input_shape)

    def call(self, inputs, attention_bias=None, training=None):
        attended, probs, scores = self.attention(
            inputs, attention_bias=attention_bias, training=training
        )
        attended = self.attention_dropout_layer(attended, training=training)
        hidden = self.attention_layer_norm(inputs + attended)
        ffn = self.output_dense(
            self.intermediate_dense(hidden, training=training), training=training
        )
        ffn = self.output_dropout_layer(ffn, training=training)
        return self.output_layer_norm(hidden + ffn), probs, scores

    def compute_output_shape(self, input_shape):
        return self.attention.compute_output_shape(input_shape)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "hidden_size": self.hidden_size,
                "num_heads": self.num_heads,
                "intermediate_size": self.intermediate_size,
                "hidden_act": self.hidden_act,
                "dropout": self.dropout_rate,
                "attention_dropout": self.attention_dropout,
                "layer_norm_epsilon": self.layer_norm_epsilon,
                "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
                "weight_quantizer": serialize_quantizer(self.weight_quantizer),
                "activation_quantizer": serialize_quantizer(self.activation_quantizer),
                "output_quantizer": serialize_quantizer(self.output_quantizer),
            }
        )
        return config
