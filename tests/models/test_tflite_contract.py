"""The export contract later stages rely on: an SPS model converts to TFLite via SavedModel
and the float .tflite matches Keras (the full export pipeline is a later issue)."""

import numpy as np
import tensorflow as tf

from tfcompress.models import Encoder, build_classifier
from tfcompress.models.sps import sps_config


def test_sps_classifier_converts_and_matches_keras(tiny_config, tiny_inputs, tmp_path):
    config = sps_config(tiny_config, 2)
    model = build_classifier(Encoder(config), 3, sequence_length=8)
    model.export(str(tmp_path / "saved"), format="tf_saved_model", verbose=False)
    tflite = tf.lite.TFLiteConverter.from_saved_model(str(tmp_path / "saved")).convert()

    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_content=tflite)
    runner = interpreter.get_signature_runner()
    one = {name: value[1:2] for name, value in tiny_inputs.items()}
    (output,) = runner(**one).values()
    expected = model(one, training=False).numpy()
    np.testing.assert_allclose(output, expected, atol=1e-4)
    assert set(interpreter.get_signature_list()["serving_default"]["inputs"]) == set(tiny_inputs)
