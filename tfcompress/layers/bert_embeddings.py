"""Word + position + segment embeddings, optionally narrower than the hidden size."""

import keras
from keras import ops

from tfcompress.layers.fake_quantizer import clone_quantizer, serialize_quantizer
from tfcompress.layers.initializers import fresh_initializer
from tfcompress.layers.layer_norm import LayerNorm
from tfcompress.layers.quantized_dense import QuantizedDense


@keras.saving.register_keras_serializable(package="tfcompress")
class BertEmbeddings(keras.layers.Layer):
    """`LayerNorm(up(word[token_ids]) + position[:S] + segment[segment_ids])`, then dropout.

    When `embedding_dim < hidden_size` the word table is `embedding_dim` wide and
    a trainable affine up-projection (`up`, the `projection` attribute) maps it to
    the hidden size (factorized embeddings). With equal widths there is no
    projection and the layout matches Hugging Face BERT.

    A second vocabulary (mixed-vocabulary stage I) adds a second word table,
    `second_embedding_dim` wide, with an affine projection of its own to the hidden
    size; ids from `vocab_size` on are its rows. `output_table` stacks both (the
    second projected) for an MLM decoder tied to the two vocabularies.
    Only the word table has a quantizer slot (`embedding_quantizer`); position
    and segment tables stay float, as KDLSQ prescribes.

    Args:
        vocab_size: int, rows of the word table.
        hidden_size: int, the output width (and that of the position and segment tables).
        max_length: int, the longest sequence: rows of the position table.
        type_vocab_size: int, how many segment ids there are. Defaults to `2`.
        embedding_dim: int or `None`, the word table's width; below `hidden_size`
            it adds the up-projection. Defaults to `hidden_size`.
        dropout: float, dropout rate after the LayerNorm. Defaults to `0.1`.
        layer_norm_epsilon: float, the LayerNorm epsilon. Defaults to `1e-12` (BERT).
        initializer: initializer for the three tables and the projection kernel.
            Defaults to `"glorot_uniform"`.
        embedding_quantizer: a `Quantizer` template for the word table, or `None`.
        second_vocab_size: int or `None`, rows of the second word table.
            Defaults to `None` (one vocabulary).
        second_embedding_dim: int or `None`, the second table's width.
        **kwargs: base layer arguments such as `name` and `dtype`.

    Example:

    ```python
    embeddings = BertEmbeddings(vocab_size=1000, hidden_size=128, max_length=64, embedding_dim=32)
    token_ids = np.array([[2, 15, 9, 3]], "int32")
    hidden = embeddings(token_ids, np.zeros_like(token_ids))  # [1, 4, 128]
    ```
    """

    def __init__(
        self,
        vocab_size,
        hidden_size,
        max_length,
        type_vocab_size=2,
        embedding_dim=None,
        dropout=0.1,
        layer_norm_epsilon=1e-12,
        initializer="glorot_uniform",
        embedding_quantizer=None,
        second_vocab_size=None,
        second_embedding_dim=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.vocab_size = int(vocab_size)
        self.hidden_size = int(hidden_size)
        self.max_length = int(max_length)
        self.type_vocab_size = int(type_vocab_size)
        self.embedding_dim = int(embedding_dim or hidden_size)
        self.dropout_rate = float(dropout)
        self.layer_norm_epsilon = float(layer_norm_epsilon)
        self.initializer = keras.initializers.get(initializer)
        self.embedding_quantizer = clone_quantizer(embedding_quantizer)
        self.second_vocab_size = second_vocab_size and int(second_vocab_size)
        self.second_embedding_dim = second_embedding_dim and int(second_embedding_dim)
        self.second_projection = None
        if self.second_vocab_size:
            self.second_projection = QuantizedDense(
                self.hidden_size,
                kernel_initializer=fresh_initializer(self.initializer),
                dtype=self.dtype_policy,
                name="second_embedding_projection",
            )
        self.projection = None
        if self.embedding_dim != self.hidden_size:
            self.projection = QuantizedDense(
                self.hidden_size,
                kernel_initializer=fresh_initializer(self.initializer),
                dtype=self.dtype_policy,
                name="embedding_projection",
            )
        self.layer_norm = LayerNorm(
            epsilon=self.layer_norm_epsilon, dtype=self.dtype_policy, name="embeddings_layer_norm"
        )
        self.dropout = keras.layers.Dropout(self.dropout_rate, dtype=self.dtype_policy)

    def build(self, input_shape=None):
        self.word_embeddings = self.add_weight(
            name="word_embeddings",
            shape=(self.vocab_size, self.embedding_dim),
            initializer=fresh_initializer(self.initializer),
        )
        self.position_embeddings = self.add_weight(
            name="position_embeddings",
            shape=(self.max_length, self.hidden_size),
            initializer=fresh_initializer(self.initializer),
        )
        self.segment_embeddings = self.add_weight(
            name="segment_embeddings",
            shape=(self.type_vocab_size, self.hidden_size),
            initializer=fresh_initializer(self.initializer),
        )
        self.embedding_quantizer_weights = self.embedding_quantizer.build(
            self.word_embeddings.shape, "word_embeddings", self
        )
        if self.projection is not None:
            self.projection.build((None, None, self.embedding_dim))
        if self.second_projection is not None:
            self.second_word_embeddings = self.add_weight(
                name="second_word_embeddings",
                shape=(self.second_vocab_size, self.second_embedding_dim),
                initializer=fresh_initializer(self.initializer),
            )
            self.second_projection.build((None, None, self.second_embedding_dim))
        self.layer_norm.build((None, None, self.hidden_size))

    def word_table(self, training=None):
        """The (possibly quantized) word table: the MLM decoder ties its weights to it."""
        return self.embedding_quantizer(
            self.word_embeddings, training, self.embedding_quantizer_weights
        )

    def output_table(self, training=None):
        """Every vocabulary's rows at the decoder's width: the word table, then (with a
        second vocabulary) the second table through its projection."""
        table = self.word_table(training)
        if self.second_projection is None:
            return table
        second = self.second_projection(self.second_word_embeddings, training=training)
        return ops.concatenate([table, ops.cast(second, table.dtype)], axis=0)

    def call(self, token_ids, segment_ids, training=None):
        seq_len = ops.shape(token_ids)[1]
        if self.second_projection is None:
            words = self._first_vocab_words(token_ids, training)
        else:
            words = self._mixed_vocab_words(token_ids, training)
        positions = ops.expand_dims(self.position_embeddings[:seq_len], 0)
        segments = _gather_rows(self.segment_embeddings, segment_ids)
        embedded = self.layer_norm(words + positions + segments)
        return self.dropout(embedded, training=training)

    def _first_vocab_words(self, token_ids, training):
        words = _gather_rows(self.word_table(training), token_ids)
        if self.projection is not None:
            words = self.projection(words, training=training)
        return words

    def _mixed_vocab_words(self, token_ids, training):
        first = self._first_vocab_words(ops.minimum(token_ids, self.vocab_size - 1), training)
        second_ids = ops.clip(token_ids - self.vocab_size, 0, self.second_vocab_size - 1)
        second = self.second_projection(
            _gather_rows(self.second_word_embeddings, second_ids), training=training
        )
        return ops.where((token_ids >= self.vocab_size)[..., None], second, first)

    def compute_output_shape(self, token_ids_shape, segment_ids_shape=None):
        return tuple(token_ids_shape) + (self.hidden_size,)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "vocab_size": self.vocab_size,
                "hidden_size": self.hidden_size,
                "max_length": self.max_length,
                "type_vocab_size": self.type_vocab_size,
                "embedding_dim": self.embedding_dim,
                "dropout": self.dropout_rate,
                "layer_norm_epsilon": self.layer_norm_epsilon,
                "initializer": keras.initializers.serialize(self.initializer),
                "embedding_quantizer": serialize_quantizer(self.embedding_quantizer),
                "second_vocab_size": self.second_vocab_size,
                "second_embedding_dim": self.second_embedding_dim,
            }
        )
        return config


def _gather_rows(table, ids):
    """`table[ids]`. On TensorFlow a plain gather: `ops.take` adds negative-index wrapping
    (LESS/ADD/SELECT on the ids) that TFLite's int16x8 calibration cannot handle."""
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        return tf.gather(table, ids)
    return ops.take(table, ids, axis=0)
