import keras
import numpy as np

from tests.layers.helpers import assert_saved_model_identical
from tfcompress.models import (
    Encoder,
    MaskedLMModel,
    TaskModel,
    build_intent_slot_model,
    build_tagger,
)


def test_tagger_and_joint_model_outputs(tiny_config, tiny_inputs, tmp_path):
    tagger = build_tagger(Encoder(tiny_config), 5)
    assert tagger(tiny_inputs).shape == (2, 8, 5)
    joint = build_intent_slot_model(Encoder(tiny_config), 3, 7, sequence_length=8)
    out = joint(tiny_inputs)
    assert out["intent_logits"].shape == (2, 3) and out["slot_logits"].shape == (2, 8, 7)
    assert sorted(joint.input) == ["padding_mask", "segment_ids", "token_ids"]
    loaded = assert_saved_model_identical(joint, tiny_inputs, tmp_path)
    assert isinstance(loaded, TaskModel)
    assert isinstance(loaded.encoder, Encoder) and loaded.head.name == "intent_slot_head"
    # The parts are the layers the functional graph runs, not copies.
    assert loaded.encoder in loaded.layers and loaded.head in loaded.layers


def test_masked_lm_decoder_is_tied_and_survives_save(tiny_config, tiny_inputs, tmp_path):
    import dataclasses

    model = MaskedLMModel(Encoder(dataclasses.replace(tiny_config, embedding_dim=16)))
    inputs = {**tiny_inputs, "mask_positions": np.array([[1, 2], [3, 0]], "int32")}
    logits = model(inputs)
    assert logits.shape == (2, 2, 50)
    # Tying: the head owns no vocab-by-width matrix, only the output bias.
    head_shapes = [tuple(w.shape) for w in model.mlm_head.weights]
    assert (50, 16) not in head_shapes and (16, 50) not in head_shapes
    table = model.encoder.embeddings.word_embeddings
    table.assign(table.numpy() * 2)
    assert not np.allclose(model(inputs).numpy(), logits.numpy())
    assert_saved_model_identical(model, inputs, tmp_path)


def test_forward_with_features_matches_model(tiny_config, tiny_inputs):
    from tfcompress.models import build_classifier

    for model in (
        build_classifier(Encoder(tiny_config), 2),
        build_tagger(Encoder(tiny_config), 4),
        build_intent_slot_model(Encoder(tiny_config), 3, 5),
    ):
        outputs, features = model.forward_with_features(tiny_inputs, training=False)
        expected = model(tiny_inputs, training=False)
        for a, b in zip(keras.tree.flatten(outputs), keras.tree.flatten(expected), strict=True):
            np.testing.assert_allclose(a, b, atol=1e-6)
        assert len(features["hidden_states"]) == 3
