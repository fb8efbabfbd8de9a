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
    narrow (factorized) embeddings too. For two vocabularies the owner passes
    both tables stacked (`BertEmbeddings.output_table`) and the loss takes each
    masked token's softmax over its own vocabulary's slice of the logits.

    Args:
        vocab_size: int, rows of the word table (logits per masked position).
        embedding_dim: int, the word table's width (the transform's output width).
        hidden_act: str, the transform's activation, a name from
            `SUPPORTED_ACTIVATIONS`. Defaults to `"gelu"`.
        layer_norm_epsilon: float, the transform LayerNorm's epsilon. Defaults to `1e-12`.
        kernel_initializer: initializer for the transform kernel.
            Defaults to `"glorot_uniform"`.
        **kwargs: base layer arguments such as `name` and `dtype`.

    Example:

    ```python
    head = MaskedLMHead(vocab_size=1000, embedding_dim=32)
    sequence_output = np.random.normal(size=(2, 16, 64)).astype("float32")
    mask_positions = np.array([[1, 4], [2, 9]], "int32")
    word_table = np.random.normal(size=(1000, 32)).astype("float32")
    logits = head(sequence_output, mask_positions, word_table)  # [2, 2, 1000]
    ```
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
