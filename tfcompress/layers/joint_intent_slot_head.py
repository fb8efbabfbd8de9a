"""Joint intent classification + slot tagging head (SNIPS / ATIS style)."""

import keras

from tfcompress.layers.classification_head import ClassificationHead
from tfcompress.layers.token_tagging_head import TokenTaggingHead


@keras.saving.register_keras_serializable(package="tfcompress")
class JointIntentSlotHead(keras.layers.Layer):
    """Intent logits from the pooled output, slot logits from every token.

    Returns `(intent_logits [B, num_intents], slot_logits [B, S, num_slots])`.

    Args:
        num_intents: int, the number of intent classes.
        num_slots: int, the number of slot tags.
        dropout: float, dropout rate before both dense layers. Defaults to `0.1`.
        kernel_initializer: initializer for both kernels. Defaults to `"glorot_uniform"`.
        **kwargs: base layer arguments such as `name` and `dtype`.

    Example:

    ```python
    head = JointIntentSlotHead(num_intents=7, num_slots=40)
    pooled = np.random.normal(size=(2, 64)).astype("float32")
    sequence = np.random.normal(size=(2, 16, 64)).astype("float32")
    intent_logits, slot_logits = head(pooled, sequence)  # [2, 7], [2, 16, 40]
    ```
    """

    def __init__(
        self, num_intents, num_slots, dropout=0.1, kernel_initializer="glorot_uniform", **kwargs
    ):
        super().__init__(**kwargs)
        self.num_intents = int(num_intents)
        self.num_slots = int(num_slots)
        self.dropout_rate = float(dropout)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.intent_head = ClassificationHead(
            num_intents, dropout, self.kernel_initializer, dtype=self.dtype_policy, name="intent"
        )
        self.slot_head = TokenTaggingHead(
            num_slots, dropout, self.kernel_initializer, dtype=self.dtype_policy, name="slots"
        )

    def build(self, pooled_output_shape, sequence_output_shape):
        self.intent_head.build(pooled_output_shape)
        self.slot_head.build(sequence_output_shape)

    def call(self, pooled_output, sequence_output, training=None):
        return (
            self.intent_head(pooled_output, training=training),
            self.slot_head(sequence_output, training=training),
        )

    def call_on_features(self, features, training=None):
        """`{"intent_logits", "slot_logits"}` from an `Encoder`'s output dict."""
        intent, slots = self(
            features["pooled_output"], features["sequence_output"], training=training
        )
        return {"intent_logits": intent, "slot_logits": slots}

    def compute_output_shape(self, pooled_output_shape, sequence_output_shape):
        return (
            self.intent_head.compute_output_shape(pooled_output_shape),
            self.slot_head.compute_output_shape(sequence_output_shape),
        )

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "num_intents": self.num_intents,
                "num_slots": self.num_slots,
                "dropout": self.dropout_rate,
                "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
            }
        )
        return config
