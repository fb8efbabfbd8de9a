"""Functional task models around an `Encoder`, with named int32 inputs for export."""

import keras

from tfcompress.layers.classification_head import ClassificationHead
from tfcompress.layers.joint_intent_slot_head import JointIntentSlotHead
from tfcompress.layers.token_tagging_head import TokenTaggingHead
from tfcompress.models.encoder import INPUT_NAMES

TASK_TYPES = ("classification", "tagging", "intent_slot")


def encoder_inputs(sequence_length=None):
    """Named int32 inputs; a fixed `sequence_length` gives the static shapes export wants."""
    return {name: keras.Input((sequence_length,), dtype="int32", name=name) for name in INPUT_NAMES}


def build_classifier(encoder, num_classes, sequence_length=None, dropout=0.1, name="classifier"):
    """token ids → encoder → pooled output → logits [B, num_classes]."""
    inputs = encoder_inputs(sequence_length)
    pooled = encoder(inputs)["pooled_output"]
    logits = ClassificationHead(num_classes, dropout, name="classification_head")(pooled)
    return keras.Model(inputs, logits, name=name)


def build_tagger(encoder, num_tags, sequence_length=None, dropout=0.1, name="tagger"):
    """token ids → encoder → sequence output → logits [B, S, num_tags]."""
    inputs = encoder_inputs(sequence_length)
    sequence = encoder(inputs)["sequence_output"]
    logits = TokenTaggingHead(num_tags, dropout, name="tagging_head")(sequence)
    return keras.Model(inputs, logits, name=name)


def build_intent_slot_model(
    encoder, num_intents, num_slots, sequence_length=None, dropout=0.1, name="intent_slot"
):
    """token ids → encoder → `intent_logits` [B, I] and `slot_logits` [B, S, T]."""
    inputs = encoder_inputs(sequence_length)
    outputs = encoder(inputs)
    intent, slots = JointIntentSlotHead(num_intents, num_slots, dropout, name="intent_slot_head")(
        outputs["pooled_output"], outputs["sequence_output"]
    )
    return keras.Model(inputs, {"intent_logits": intent, "slot_logits": slots}, name=name)


def get_encoder(model):
    """The `Encoder` inside a task model built here."""
    from tfcompress.models.encoder import Encoder

    for layer in model.layers:
        if isinstance(layer, Encoder):
            return layer
    raise ValueError(f"model {model.name!r} contains no tfcompress Encoder")


def forward_with_features(model, inputs, training=None):
    """`(model(inputs), encoder outputs)` in one pass, for losses on intermediate features.

    Works for models made by the builders above: it runs their encoder and head
    layers directly, so outputs equal `model(inputs)` and no extra graph is built.
    """
    encoder_outputs = get_encoder(model)(inputs, training=training)
    layer_names = {layer.name for layer in model.layers}
    if "classification_head" in layer_names:
        head = model.get_layer("classification_head")
        return head(encoder_outputs["pooled_output"], training=training), encoder_outputs
    if "tagging_head" in layer_names:
        head = model.get_layer("tagging_head")
        return head(encoder_outputs["sequence_output"], training=training), encoder_outputs
    if "intent_slot_head" in layer_names:
        intent, slots = model.get_layer("intent_slot_head")(
            encoder_outputs["pooled_output"], encoder_outputs["sequence_output"], training=training
        )
        return {"intent_logits": intent, "slot_logits": slots}, encoder_outputs
    raise ValueError(f"model {model.name!r} was not built by tfcompress.models' task builders")
