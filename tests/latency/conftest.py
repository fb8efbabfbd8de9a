import pytest

from tests.latency.helpers import VOCAB


@pytest.fixture(scope="session")
def tiny_tflite(tmp_path_factory):
    """A Keras model with named int32 inputs and a 50-row embedding, as a .tflite file.

    TFLite's GATHER fails on an id >= 50, so timing it also checks the id range."""
    import keras
    import tensorflow as tf

    token_ids = keras.Input((8,), dtype="int32", name="token_ids")
    mask = keras.Input((8,), dtype="int32", name="padding_mask")
    x = keras.layers.Embedding(VOCAB, 8)(token_ids)
    x = x * keras.ops.expand_dims(keras.ops.cast(mask, "float32"), -1)
    out = keras.layers.Dense(2)(keras.layers.GlobalAveragePooling1D()(x))
    model = keras.Model({"token_ids": token_ids, "padding_mask": mask}, out)
    root = tmp_path_factory.mktemp("tiny")
    model.export(str(root / "saved"), format="tf_saved_model", verbose=False)
    path = root / "tiny.tflite"
    path.write_bytes(tf.lite.TFLiteConverter.from_saved_model(str(root / "saved")).convert())
    return path
