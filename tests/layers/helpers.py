"""Shared checks for layers: config round-trip and `.keras` save/load with safe_mode."""

import keras
import numpy as np


def assert_config_roundtrip(layer):
    config = layer.get_config()
    clone = type(layer).from_config(config)
    assert clone.get_config() == config
    return clone


def assert_saved_model_identical(model, inputs, tmp_path):
    path = tmp_path / "model.keras"
    expected = model(inputs, training=False)
    model.save(path)
    loaded = keras.models.load_model(path, safe_mode=True)
    actual = loaded(inputs, training=False)
    for e, a in zip(keras.tree.flatten(expected), keras.tree.flatten(actual)):
        np.testing.assert_array_equal(np.asarray(e), np.asarray(a))
    return loaded


def wrap(layer, *input_shapes, dtypes=None):
    """A functional model around `layer` so it can be saved on its own."""
    dtypes = dtypes or ["float32"] * len(input_shapes)
    inputs = [keras.Input(s, dtype=d) for s, d in zip(input_shapes, dtypes)]
    return keras.Model(inputs[0] if len(inputs) == 1 else inputs, layer(*inputs))
