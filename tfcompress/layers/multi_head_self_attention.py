"""BERT self-attention that exposes probabilities and scores, with sharing and quantizer slots."""

import math

import keras
from keras import ops

from tfcompress.layers.fake_quantizer import clone_quantizer, serialize_quantizer
from tfcompress.layers.initializers import fresh_initializer
from tfcompress.layers.quantized_dense import QuantizedDense


@keras.saving.register_keras_serializable(package="tfcompress")
class MultiHeadSelfAttention(keras.layers.Layer):
    """Scaled dot-product self-attention over `num_heads` heads.

    Returns `(output, probs, scores)`: `scores` are the scaled pre-softmax
    logits *before* the padding bias is added (KD losses mask them themselves),
    `probs` the softmax with padding masked out.

    Quantizer slots: the four projections take `weight_quantizer` on their
    kernels and `activation_quantizer` on their inputs (the layer input once, for
    query, key and value together; the context for the output); the two matmuls take
    `activation_quantizer` on both operands (query and key for the scores,
    probabilities and value for the context; the probabilities get its
    `unsigned()` variant). Each slot gets its own clone.

    Sharing (Pea-KD SPS): with `share_from=other`, this layer owns no weights and
    runs `other`'s projections (their kernels and weight quantizers); with
    `swap_query_key=True` it uses other's key projection as its query and other's
    query as its key. Activation quantizers are always this layer's own, so each
    run of shared weights learns its own activation steps. The relation is not part
    of `get_config`: the owner (the `Encoder`) rebuilds it on load.

    The softmax runs in float32 whatever the layer's dtype policy (as keras-hub
    does); the probabilities are cast back to the compute dtype.

    Args:
        hidden_size: int, the model width; must be divisible by `num_heads`.
        num_heads: int, the number of attention heads.
        attention_dropout: float, dropout on the attention probabilities.
            Defaults to `0.0`.
        kernel_initializer: initializer for the four projection kernels.
            Defaults to `"glorot_uniform"`.
        weight_quantizer: a `Quantizer` template for the projection kernels, or `None`.
        activation_quantizer: a `Quantizer` template for the projection inputs and
            both matmuls' operands, or `None`.
        output_quantizer: a `Quantizer` template for the output projection's output
            (see `QuantizedDense`), or `None`.
        share_from: a `MultiHeadSelfAttention` whose variables this layer runs, or
            `None` to own its own. Not serialized.
        swap_query_key: bool, with `share_from`: run its key projection as query
            and its query projection as key. Defaults to `False`.
        **kwargs: base layer arguments such as `name` and `dtype`.

    Example:

    ```python
    attention = MultiHeadSelfAttention(hidden_size=64, num_heads=4)
    x = np.random.normal(size=(2, 10, 64)).astype("float32")
    bias = np.zeros((2, 1, 1, 10), "float32")  # -1e4 at padded keys
    output, probs, scores = attention(x, attention_bias=bias)
    swapped = MultiHeadSelfAttention(64, 4, share_from=attention, swap_query_key=True)
    ```
    """

    def __init__(
        self,
        hidden_size,
        num_heads,
        attention_dropout=0.0,
        kernel_initializer="glorot_uniform",
        weight_quantizer=None,
        activation_quantizer=None,
        output_quantizer=None,
        share_from=None,
        swap_query_key=False,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if hidden_size % num_heads:
            raise ValueError(
                f"hidden_size ({hidden_size}) must be divisible by num_heads ({num_heads})"
            )
        if swap_query_key and share_from is None:
            raise ValueError("swap_query_key=True needs share_from: only a reused layer swaps")
        self.hidden_size = int(hidden_size)
        self.num_heads = int(num_heads)
        self.head_dim = self.hidden_size // self.num_heads
        self.attention_dropout = float(attention_dropout)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.weight_quantizer = clone_quantizer(weight_quantizer)
        self.activation_quantizer = clone_quantizer(activation_quantizer)
        self.output_quantizer = clone_quantizer(output_quantizer)
        self.share_from = share_from
        self.swap_query_key = bool(swap_query_key)
        self.dropout = keras.layers.Dropout(self.attention_dropout, dtype=self.dtype_policy)
        # Softmax stays float32 under mixed precision (keras-hub's convention): exp of bf16 or
        # fp16 logits loses the small probabilities that attention-map losses compare.
        self.softmax = keras.layers.Softmax(axis=-1, dtype="float32", name="attention_softmax")
        if share_from is None:
            self._create_projections()
        else:
            self._reuse_projections(share_from)
        self.input_quantizer = self.activation_quantizer.clone()
        self.query_input_quantizer = self.activation_quantizer.clone()
        self.key_input_quantizer = self.activation_quantizer.clone()
        # Softmax outputs are >= 0: an unsigned grid spends no levels below zero.
        self.probs_input_quantizer = self.activation_quantizer.unsigned()
        self.value_input_quantizer = self.activation_quantizer.clone()

    def _projection(self, name, share_from=None):
        # Query, key and value read one tensor, quantized once (`input_quantizer`): in an
        # integer model that tensor has one scale, whichever projections read it.
        return QuantizedDense(
            self.hidden_size,
            kernel_initializer=fresh_initializer(self.kernel_initializer),
            input_quantizer=self.activation_quantizer if name == "attention_output" else None,
            # Query, key and value outputs meet the matmul quantizers right away.
            output_quantizer=self.output_quantizer if name == "attention_output" else None,
            kernel_quantizer=self.weight_quantizer,
            share_from=share_from,
            dtype=self.dtype_policy,
            name=name,
        )

    def _create_projections(self):
        self.query_dense = self._projection("query")
        self.key_dense = self._projection("key")
        self.value_dense = self._projection("value")
        self.output_dense = self._projection("attention_output")

    def _reuse_projections(self, base):
        if (base.hidden_size, base.num_heads) != (self.hidden_size, self.num_heads):
            raise ValueError("a shared attention layer must have the base layer's dimensions")
        query, key = (
            (base.key_dense, base.query_dense)
            if self.swap_query_key
            else (base.query_dense, base.key_dense)
        )
        # Views of the base's projections: its kernels and weight grids, but input
        # quantizers of their own (this run of the weights sees other activations).
        self.query_dense = self._projection("query", share_from=query)
        self.key_dense = self._projection("key", share_from=key)
        self.value_dense = self._projection("value", share_from=base.value_dense)
        self.output_dense = self._projection("attention_output", share_from=base.output_dense)

    def build(self, input_shape):
        for dense in (self.query_dense, self.key_dense, self.value_dense, self.output_dense):
            dense.build(input_shape)
        self.input_quantizer_weights = self.input_quantizer.build(input_shape, "input", self)
        head_shape = (None, self.num_heads, None, self.head_dim)
        probs_shape = (None, self.num_heads, None, None)
        self.matmul_quantizer_weights = {
            "query": self.query_input_quantizer.build(head_shape, "query_matmul", self),
            "key": self.key_input_quantizer.build(head_shape, "key_matmul", self),
            "probs": self.probs_input_quantizer.build(probs_shape, "probs_matmul", self),
            "value": self.value_input_quantizer.build(head_shape, "value_matmul", self),
        }

    def _split_heads(self, x, seq_len):
        x = ops.reshape(x, (-1, seq_len, self.num_heads, self.head_dim))
        return ops.transpose(x, (0, 2, 1, 3))

    def call(self, inputs, attention_bias=None, training=None):
        """`attention_bias`: additive [B, 1, 1, S] (0 for tokens, large negative for padding)."""
        seq_len = ops.shape(inputs)[1]
        w = self.matmul_quantizer_weights
        inputs = self.input_quantizer(inputs, training, self.input_quantizer_weights)
        step = self.input_quantizer.grid_step(self.input_quantizer_weights)
        query, key, value = (
            self._split_heads(dense(inputs, training=training, input_step=step), seq_len)
            for dense in (self.query_dense, self.key_dense, self.value_dense)
        )
        query = self.query_input_quantizer(query, training, w["query"])
        key = self.key_input_quantizer(key, training, w["key"])
        scores = ops.matmul(query, ops.transpose(key, (0, 1, 3, 2))) / math.sqrt(self.head_dim)
        logits = ops.cast(scores, "float32")
        if attention_bias is not None:
            logits = logits + ops.cast(attention_bias, "float32")
        probs = ops.cast(self.softmax(logits), self.compute_dtype)
        dropped = self.dropout(probs, training=training)
        dropped = self.probs_input_quantizer(dropped, training, w["probs"])
        value = self.value_input_quantizer(value, training, w["value"])
        context = ops.transpose(ops.matmul(dropped, value), (0, 2, 1, 3))
        context = ops.reshape(context, (-1, seq_len, self.hidden_size))
        return self.output_dense(context, training=training), probs, scores

    def compute_output_shape(self, input_shape):
        batch, seq = input_shape[0], input_shape[1]
        probs = (batch, self.num_heads, seq, seq)
        return tuple(input_shape), probs, probs

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "hidden_size": self.hidden_size,
                "num_heads": self.num_heads,
                "attention_dropout": self.attention_dropout,
                "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
                "weight_quantizer": serialize_quantizer(self.weight_quantizer),
                "activation_quantizer": serialize_quantizer(self.activation_quantizer),
                "output_quantizer": serialize_quantizer(self.output_quantizer),
            }
        )
        return config
