"""BERT's masked-LM head with a decoder tied to the word embedding table."""

import keras
from keras import ops

from tfcompress.layers.activations import get_activation
from tfcompress.layers.initializers import fresh_initializer
from tfcompress.layers.layer_norm import LayerNorm


@keras.saving.register_keras_serializable(package="tfcompress")
class MaskedLMHead(keras.layers.Layer):
    """gather masked positions → dense(embedding_dim, act) → LayerNorm → · tableᵀ + bias.

    The decoder weights are the word table itself, passed to `call` by the
    owner (so tying survives save/load without the head holding a reference
    to another layer). The transform maps to the table's width, so it works for
    narrow (factorized) embeddings too, as the planned mixed-vocabulary MLM
    stages will need; for now there is one vocabulary and one output softmax.
    """

    def __init__(
        self,
        vocab_size,
        embedding_dim,
        hidden_act="gelu",
        layer_norm_epsilon=1e-12,
        kernel_initializer="glorot_uniform",
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.vocab_size = int(vocab_size)
        self.embedding_dim = int(embedding_dim)
        self.hidden_act = hidden_act
        self.layer_norm_epsilon = float(layer_norm_epsilon)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        get_activation(hidden_act)  # fail at construction on an unknown name
        self.transform = keras.layers.Dense(
            self.embedding_dim,
            kernel_initializer=fresh_initializer(self.kernel_initializer),
            dtype=self.dtype_policy,
            name="transform",
        )
        self.layer_norm = LayerNorm(
            epsilon=self.layer_norm_epsilon, dtype=self.dtype_policy, name="transform_layer_norm"
        )

    def build(self, sequence_output_shape, mask_positions_shape=None, word_table_shape=None):
        self.transform.build(sequence_output_shape)
        self.layer_norm.build(tuple(sequence_output_shape[:-1]) + (self.embedding_dim,))
        self.output_bias = self.add_weight(
            name="output_bias", shape=(self.vocab_size,), initializer="zeros"
        )

    def call(self, sequence_output, mask_positions, word_table):
        """sequence_output [B, S, H], mask_positions int [B, P], word_table [V, E] → [B, P, V]."""
        gathered = ops.take_along_axis(
            sequence_output, ops.cast(mask_positions, "int32")[:, :, None], axis=1
        )
        transformed = get_activation(self.hidden_act)(self.transform(gathered))
        transformed = self.layer_norm(transformed)
        return ops.matmul(transformed, ops.transpose(word_table)) + self.output_bias

    def compute_output_shape(
        self, sequence_output_shape, mask_positions_shape, word_table_shape=None
    ):
        return (sequence_output_shape[0], mask_positions_shape[1], self.vocab_size)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "vocab_size": self.vocab_size,
                "embedding_dim": self.embedding_dim,
                "hidden_act": self.hidden_act,
                "layer_norm_epsilon": self.layer_norm_epsilon,
                "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
            }
        )
        return config
