"""Loading through measure_latency: models without a signature, a missing tflite-runtime,
and tensorflow-text custom ops loaded only when the model needs them."""

import sys

import pytest

from tfcompress.errors import TfcompressError
from tfcompress.latency.errors import LatencyError
from tfcompress.latency.host_timing import measure_latency


def test_model_without_signature_uses_set_tensor_and_invoke(tiny_tflite, monkeypatch):
    from ai_edge_litert import interpreter as litert

    monkeypatch.setattr(litert.Interpreter, "get_signature_list", lambda self: {})
    report = measure_latency(tiny_tflite, threads=(1,), runs=3, warmup=1)
    assert report["timed"] == "invoke" and report["signature"] is None
    names = {i["name"] for i in report["inputs"]}
    assert names == {"serving_default_token_ids:0", "serving_default_padding_mask:0"}
    assert report["results"][0]["p50_ms"] > 0


def test_tflite_runtime_missing_says_how_to_install(tiny_tflite, monkeypatch):
    monkeypatch.setitem(sys.modules, "tflite_runtime", None)  # import fails even if installed
    monkeypatch.setitem(sys.modules, "tflite_runtime.interpreter", None)
    with pytest.raises(TfcompressError, match="pip install tflite-runtime"):
        measure_latency(tiny_tflite, threads=(1,), runs=1, interpreter="tflite_runtime")


def test_text_model_loads_tensorflow_text_ops_on_demand(tmp_path):
    """A tf.string model with an in-graph tokenizer needs tensorflow-text's kernels."""
    import tensorflow as tf
    import tensorflow_text as tft

    tokenizer = tft.FastWordpieceTokenizer(
        vocab=["[UNK]", "the", "quick", "brown", "fox"], unknown_token="[UNK]"
    )

    class Tokenize(tf.Module):
        @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="text")])
        def serve(self, text):
            return {"ids": tf.reduce_sum(tf.cast(tokenizer.tokenize(text), tf.float32), -1)}

    module = Tokenize()
    converter = tf.lite.TFLiteConverter.from_concrete_functions(
        [module.serve.get_concrete_function()], module
    )
    converter.allow_custom_ops = True
    path = tmp_path / "text.tflite"
    path.write_bytes(converter.convert())

    with pytest.raises(LatencyError, match="unresolved custom op"):
        measure_latency(path, threads=(1,), runs=1, custom_ops=False)
    report = measure_latency(path, threads=(1,), runs=2, warmup=1)
    assert report["custom_ops"] is True
    assert report["inputs"] == [{"name": "text", "shape": [1], "dtype": "object"}]
