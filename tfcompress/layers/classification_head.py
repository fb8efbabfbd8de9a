"""Sequence classification head on the pooled [CLS] output."""

import keras

from tfcompress.layers.initializers import fresh_initializer


@keras.saving.register_keras_serializable(package="tfcompress")
class ClassificationHead(keras.layers.Layer):
    """dropout → dense: pooled output [B, H] → logits [B, num_classes].

    Args:
        num_classes: int, the number of logits.
        dropout: float, dropout rate before the dense layer. Defaults to `0.1`.
        kernel_initializer: initializer for the dense kernel.
            Defaults to `"glorot_uniform"`.
        **kwargs: base layer arguments such as `name` and `dtype`.

    Example:

    ```python
    head = ClassificationHead(num_classes=3)
    logits = head(np.random.normal(size=(2, 64)).astype("float32"))  # [2, 3]
    logits = head.call_on_features(encoder(inputs))  # on an Encoder's output dict
    ```
    """

    def __init__(self, num_classes, dropout=0.1, kernel_initializer="glorot_uniform", **kwargs):
        super().__init__(**kwargs)
        self.num_classes = int(num_classes)
        self.dropout_rate = float(dropout)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.dropout = keras.layers.Dropout(self.dropout_rate, dtype=self.dtype_policy)
        self.dense = keras.layers.Dense(
            self.num_classes,
            kernel_initializer=fresh_initializer(self.kernel_initializer),
            dtype=self.dtype_policy,
            name="logits",
        )

    def build(self, input_shape):
        self.dense.build(input_shape)

    def call(self, pooled_output, training=None):
        return self.dense(self.dropout(pooled_output, training=training))

    def call_on_features(self, features, training=None):
        """The head applied to an `Encoder`'s output dict (the pooled output)."""
        return self(features["pooled_output"], training=training)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.num_classes,)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "num_classes": self.num_classes,
                "dropout": self.dropout_rate,
                "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
            }
        )
        return config
