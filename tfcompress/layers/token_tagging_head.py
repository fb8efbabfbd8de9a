"""Per-token tagging head (slot filling, NER) on the sequence output."""

import keras

from tfcompress.layers.classification_head import ClassificationHead


@keras.saving.register_keras_serializable(package="tfcompress")
class TokenTaggingHead(ClassificationHead):
    """dropout → dense: sequence output [B, S, H] → logits [B, S, num_tags].

    The same computation as `ClassificationHead` (dense layers act on the last
    axis), applied to every token instead of the pooled output.

    Args:
        num_tags: int, the number of tags (logits per token).
        dropout: float, dropout rate before the dense layer. Defaults to `0.1`.
        kernel_initializer: initializer for the dense kernel.
            Defaults to `"glorot_uniform"`.
        **kwargs: base layer arguments such as `name` and `dtype`.

    Example:

    ```python
    head = TokenTaggingHead(num_tags=9)
    logits = head(np.random.normal(size=(2, 16, 64)).astype("float32"))  # [2, 16, 9]
    ```
    """

    def __init__(self, num_tags, dropout=0.1, kernel_initializer="glorot_uniform", **kwargs):
        super().__init__(num_tags, dropout, kernel_initializer, **kwargs)

    def call_on_features(self, features, training=None):
        """The head applied to an `Encoder`'s output dict (every token's state)."""
        return self(features["sequence_output"], training=training)

    @property
    def num_tags(self):
        return self.num_classes

    def get_config(self):
        config = super().get_config()
        config["num_tags"] = config.pop("num_classes")
        return config
