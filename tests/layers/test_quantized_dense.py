import numpy as np
import pytest

from tests.layers.helpers import assert_config_roundtrip, assert_saved_model_identical, wrap
from tfcompress.layers import QuantizedDense, UniformQuantizer


def test_identity_quantizers_equal_plain_matmul():
    layer = QuantizedDense(5, activation="gelu")
    x = np.random.default_rng(0).normal(size=(2, 3, 4)).astype("float32")
    y = layer(x).numpy()
    z = x @ layer.kernel.numpy() + layer.bias.numpy()
    from scipy.special import erf

    np.testing.assert_allclose(y, 0.5 * z * (1 + erf(z / np.sqrt(2))), atol=1e-6)


def test_kernel_quantizer_puts_kernel_on_grid():
    layer = QuantizedDense(3, use_bias=False, kernel_quantizer=UniformQuantizer(4, 0.7))
    x = np.eye(4, dtype="float32")[None]
    effective = layer(x).numpy()[0]  # identity input reads out the effective kernel
    step = 0.7 / 7
    np.testing.assert_allclose(effective / step, np.round(effective / step), atol=1e-5)
    assert not np.allclose(effective, layer.kernel.numpy())


def test_config_and_save_load(tmp_path):
    layer = QuantizedDense(6, activation="relu", input_quantizer=UniformQuantizer(8, 3.0))
    clone = assert_config_roundtrip(layer)
    assert isinstance(clone.input_quantizer, UniformQuantizer)
    model = wrap(layer, (5, 4))
    assert_saved_model_identical(model, np.ones((2, 5, 4), "float32"), tmp_path)


def test_unknown_activation_fails_early():
    with pytest.raises(ValueError, match="unsupported activation 'swishy'"):
        QuantizedDense(3, activation="swishy")


def test_inference_adds_the_bias_on_the_integer_accumulator_grid():
    from tfcompress.layers import LsqQuantizer

    layer = QuantizedDense(
        4,
        input_quantizer=LsqQuantizer(8, initial_step=0.05),
        kernel_quantizer=LsqQuantizer(8, kind="weight", initial_step=0.02),
    )
    x = np.random.default_rng(0).normal(size=(2, 3)).astype("float32")
    without_bias = layer(x, training=False).numpy()  # the bias starts at zero
    bias = np.asarray([0.0123, -0.0071, 0.5, 0.00049], "float32")
    layer.bias.assign(bias)

    def added(**kwargs):  # what the layer added to x̂·ŵ, for the first example
        return (layer(x, **kwargs).numpy() - without_bias)[0]

    grid = 0.05 * 0.02  # s_in · s_w: the int32 accumulator's step
    np.testing.assert_allclose(added(training=False), np.round(bias / grid) * grid, atol=1e-6)
    # Training keeps the float bias (its gradient stays the plain one).
    np.testing.assert_allclose(added(training=True), bias, atol=1e-6)
    # A caller that quantized the input itself passes its step (query, key and value).
    coarse = np.round(bias / (0.5 * 0.02)) * (0.5 * 0.02)
    np.testing.assert_allclose(added(training=False, input_step=0.5), coarse, atol=1e-6)
