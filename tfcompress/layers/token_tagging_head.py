"""Per-token tagging head (slot filling, NER) on the sequence output."""

import keras

from tfcompress.layers.initializers import fresh_initializer


@keras.saving.register_keras_serializable(package="tfcompress")
class TokenTaggingHead(keras.layers.Layer):
    """dropout → dense: sequence output [B, S, H] → logits [B, S, num_tags]."""

    def __init__(self, num_tags, dropout=0.1, kernel_initializer="glorot_uniform", **kwargs):
        super().__init__(**kwargs)
        self.num_tags = int(num_tags)
        self.dropout_rate = float(dropout)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.dropout = keras.layers.Dropout(self.dropout_rate)
        self.dense = keras.layers.Dense(
            self.num_tags,
            kernel_initializer=fresh_initializer(self.kernel_initializer),
            name="logits",
        )

    def build(self, input_shape):
        self.dense.build(input_shape)

    def call(self, sequence_output, training=None):
        return self.dense(self.dropout(sequence_output, training=training))

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.num_tags,)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "num_tags": self.num_tags,
                "dropout": self.dropout_rate,
                "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
            }
        )
        return config
