"""Task models: an `Encoder` and a head, with named int32 inputs for export."""

import keras

from tfcompress.layers.classification_head import ClassificationHead
from tfcompress.layers.joint_intent_slot_head import JointIntentSlotHead
from tfcompress.layers.token_tagging_head import TokenTaggingHead
from tfcompress.models.encoder import INPUT_NAMES

TASK_TYPES = ("classification", "tagging", "intent_slot")


def encoder_inputs(sequence_length=None):
    """Named int32 inputs; a fixed `sequence_length` gives the static shapes export wants."""
    return {name: keras.Input((sequence_length,), dtype="int32", name=name) for name in INPUT_NAMES}


@keras.saving.register_keras_serializable(package="tfcompress")
class TaskModel(keras.Model):
    """token ids → `encoder` → `head`: a functional model that keeps both parts by name.

    Trainers reach the parts as `model.encoder` and `model.head` (never by layer
    names), and `forward_with_features` returns the task outputs together with
    the encoder's hidden states and attention maps from one pass.

    Args:
        encoder: a `tfcompress.models.Encoder`.
        head: a layer with `call_on_features(encoder_outputs, training)`, e.g.
            `ClassificationHead`, `TokenTaggingHead` or `JointIntentSlotHead`.
        sequence_length: a fixed input length (static shapes for export), or
            `None` for any length.
        **kwargs: `keras.Model` arguments such as `name`.

    Example:

    ```python
    model = TaskModel(Encoder(config), ClassificationHead(2))
    logits, features = model.forward_with_features(inputs)
    len(features["hidden_states"])  # embeddings + one per layer
    ```
    """

    def __init__(self, encoder, head, sequence_length=None, **kwargs):
        inputs = encoder_inputs(sequence_length)
        outputs = head.call_on_features(encoder(inputs))
        super().__init__(inputs=inputs, outputs=outputs, **kwargs)
        self.encoder = encoder
        self.head = head
        self.sequence_length = sequence_length

    def forward_with_features(self, inputs, training=None):
        """`(self(inputs), encoder outputs)` in one pass, for losses on intermediate features."""
        features = self.encoder(inputs, training=training)
        return self.head.call_on_features(features, training=training), features

    def get_config(self):
        return {
            "encoder": keras.layers.serialize(self.encoder),
            "head": keras.layers.serialize(self.head),
            "sequence_length": self.sequence_length,
            "name": self.name,
            "trainable": self.trainable,
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        for key in ("encoder", "head"):
            config[key] = keras.layers.deserialize(config[key])
        return cls(**config)


def build_classifier(encoder, num_classes, sequence_length=None, dropout=0.1, name="classifier"):
    """token ids → encoder → pooled output → logits [B, num_classes]."""
    head = ClassificationHead(
        num_classes, dropout, name="classification_head", dtype=encoder.dtype_policy
    )
    return TaskModel(encoder, head, sequence_length, name=name)


def build_tagger(encoder, num_tags, sequence_length=None, dropout=0.1, name="tagger"):
    """token ids → encoder → sequence output → logits [B, S, num_tags]."""
    head = TokenTaggingHead(num_tags, dropout, name="tagging_head", dtype=encoder.dtype_policy)
    return TaskModel(encoder, head, sequence_length, name=name)


def build_intent_slot_model(
    encoder, num_intents, num_slots, sequence_length=None, dropout=0.1, name="intent_slot"
):
    """token ids → encoder → `intent_logits` [B, I] and `slot_logits` [B, S, T]."""
    head = JointIntentSlotHead(
        num_intents, num_slots, dropout, name="intent_slot_head", dtype=encoder.dtype_policy
    )
    return TaskModel(encoder, head, sequence_length, name=name)
