import math

import keras
import numpy as np
import pytest
import tensorflow as tf

from tests.layers.helpers import assert_config_roundtrip, assert_saved_model_identical, wrap
from tfcompress.layers import LsqQuantizer, QuantizedDense
from tfcompress.layers.lsq_quantizer import recording_inputs, step_from_values


class _Owner(keras.layers.Layer):
    """Somewhere for a quantizer's step to live."""


def _slot(quantizer, shape, step):
    owner = _Owner()
    weights = quantizer.build(shape, "x", owner)
    weights["step"].assign(np.full(weights["step"].shape, step, "float32"))
    return weights


def _quantize_with_gradients(quantizer, values, step):
    """(x̂, dΣx̂/dx, dΣx̂/ds) at `values` with the given step."""
    x = tf.constant(values, "float32")
    weights = _slot(quantizer, x.shape, step)
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = quantizer(x, True, weights)
        total = tf.reduce_sum(y)
    dx, ds = tape.gradient(total, [x, weights["step"]])
    return y.numpy(), dx.numpy(), ds.numpy()


def test_signed_activations_use_the_full_range_and_weights_the_narrow_one():
    # TFLite's int8 activations hold [-128, 127], its int8 weight kernels [-127, 127].
    activation, weight = LsqQuantizer(bits=4), LsqQuantizer(bits=4, kind="weight")
    assert activation.levels == (8, 7) and weight.levels == (7, 7)
    values = [0.04, 0.16, -0.33, 1.0, -2.0]
    y, _, _ = _quantize_with_gradients(activation, values, 0.1)
    np.testing.assert_allclose(y, [0.0, 0.2, -0.3, 0.7, -0.8], atol=1e-6)
    y, _, _ = _quantize_with_gradients(weight, values, 0.1)
    np.testing.assert_allclose(y, [0.0, 0.2, -0.3, 0.7, -0.7], atol=1e-6)


def test_unsigned_forward_uses_zero_to_two_to_the_bits_minus_one():
    q = LsqQuantizer(bits=2, signed=False)
    assert q.levels == (0, 3) and q.unsigned().levels == (0, 3)
    assert LsqQuantizer(bits=2).unsigned().levels == (0, 3)
    y, _, _ = _quantize_with_gradients(q, [-1.0, 0.9, 2.2, 7.0], 1.0)
    np.testing.assert_allclose(y, [0.0, 1.0, 2.0, 3.0])


# 2 bits, s = 0.5: x/s = 0.4, -0.6 (inside), 1, -2, 1.8, -4. Activations (Qn = 2, Qp = 1):
# 1 and -2 are the two edges, 1.8 and -4 outside. Weights (Qn = Qp = 1): -2 is outside too.
_EDGE_CASES = [0.2, -0.3, 0.5, -1.0, 0.9, -2.0]


def test_activation_gradients_inside_on_the_edges_and_outside():
    y, dx, ds = _quantize_with_gradients(LsqQuantizer(bits=2), _EDGE_CASES, 0.5)
    np.testing.assert_allclose(y, [0.0, -0.5, 0.5, -1.0, 0.5, -1.0])
    # Straight-through inside the range (the edges included), zero outside it.
    np.testing.assert_allclose(dx, [1, 1, 1, 1, 0, 0])
    # LSQ: d x̂/ds = round(x/s) - x/s inside, -Qn below, Qp above; times g = 1/√(N·Qp).
    per_value = [-0.4, -0.4, 0.0, 0.0, 1.0, -2.0]
    np.testing.assert_allclose(ds, sum(per_value) / math.sqrt(6 * 1), rtol=1e-5)


def test_weight_gradient_passes_through_everywhere_and_the_step_gradient_is_lsq():
    y, dx, ds = _quantize_with_gradients(LsqQuantizer(bits=2, kind="weight"), _EDGE_CASES, 0.5)
    np.testing.assert_allclose(y, [0.0, -0.5, 0.5, -0.5, 0.5, -0.5])
    np.testing.assert_allclose(dx, np.ones(6))
    per_value = [-0.4, -0.4, 0.0, -1.0, 1.0, -1.0]
    np.testing.assert_allclose(ds, sum(per_value) / math.sqrt(6 * 1), rtol=1e-5)


def test_step_gradient_scale_shrinks_with_the_square_root_of_the_element_count():
    values = np.asarray([0.13, -0.71, 0.32, 0.9], "float32")
    _, _, ds_small = _quantize_with_gradients(LsqQuantizer(bits=4), values, 0.1)
    _, _, ds_large = _quantize_with_gradients(LsqQuantizer(bits=4), np.tile(values, 16), 0.1)
    # 16× the summed step gradient, scaled by g = 1/√(16·N·Qp): a net factor of 16/4 = 4.
    np.testing.assert_allclose(ds_large / ds_small, 4.0, rtol=1e-5)


def test_per_channel_steps_quantize_each_output_channel_on_its_own_grid():
    q = LsqQuantizer(bits=4, kind="weight", per_channel=True)
    kernel = np.asarray([[0.11, 1.1], [-0.26, -2.6]], "float32")
    weights = _slot(q, kernel.shape, 1.0)
    assert weights["step"].shape == (2,)
    weights["step"].assign([0.1, 1.0])
    np.testing.assert_allclose(q(kernel, True, weights), [[0.1, 1.0], [-0.3, -3.0]], atol=1e-6)
    np.testing.assert_allclose(q(kernel, False, weights), [[0.1, 1.0], [-0.3, -3.0]], atol=1e-6)


@pytest.mark.parametrize(
    "bits, signed, kind",
    [
        (2, True, "activation"),
        (4, True, "weight"),
        (8, True, "activation"),
        (8, False, "activation"),
    ],
)
def test_inference_fake_quant_is_the_training_grid(bits, signed, kind):
    q = LsqQuantizer(bits=bits, signed=signed, kind=kind)
    x = np.random.default_rng(bits).normal(scale=2.0, size=(64, 16)).astype("float32")
    weights = _slot(q, x.shape, 0.037)
    np.testing.assert_allclose(q(x, False, weights), q(x, True, weights), atol=1e-6)


def test_dense_layer_builds_named_steps_and_survives_safe_mode_save(tmp_path):
    dense = QuantizedDense(
        6,
        input_quantizer=LsqQuantizer(8, initial_step=0.05),
        kernel_quantizer=LsqQuantizer(4, kind="weight", per_channel=True, initial_step=0.02),
    )
    model = wrap(dense, (3, 5))
    names = sorted(v.name for v in dense.weights)
    assert names == ["bias", "input_activation_step", "kernel", "kernel_weight_step"]
    assert dense.kernel_quantizer_weights["step"].shape == (6,)
    assert_config_roundtrip(dense)
    x = np.random.default_rng(0).normal(size=(2, 3, 5)).astype("float32")
    loaded = assert_saved_model_identical(model, x, tmp_path)
    assert isinstance(loaded.layers[-1].kernel_quantizer, LsqQuantizer)


@pytest.mark.parametrize(
    "arguments, message",
    [
        ({"bits": 1}, "bits"),
        ({"bits": 9}, "bits"),
        ({"kind": "bias"}, "kind"),
        ({"per_channel": True}, "per_channel"),
        ({"initial_step": 0.0}, "initial_step"),
    ],
)
def test_bad_arguments_name_the_problem(arguments, message):
    with pytest.raises(ValueError, match=message):
        LsqQuantizer(**arguments)


def test_algorithm_1_takes_the_value_at_the_truncation_ratio():
    values = -np.arange(1, 1001, dtype="float32")  # |x| = 1..1000
    # 1% truncated: the 10 values 991..1000 lie beyond the clip, 990.
    assert step_from_values(values, qp=127, truncation_ratio=0.01) == pytest.approx(990 / 127)
    assert step_from_values(values, qp=7, truncation_ratio=0.0) == pytest.approx(1000 / 7)
    normal = np.random.default_rng(0).normal(size=200_000)
    # Two-sided 4.55% beyond ±2σ: the clip is 2σ.
    assert step_from_values(normal, 1, 0.0455) == pytest.approx(2.0, rel=0.02)
    columns = np.stack([np.arange(1, 101), 10 * np.arange(1, 101)], axis=1)
    np.testing.assert_allclose(step_from_values(columns, 1, 0.1, axis=-1), [90, 900])
    with pytest.raises(ValueError, match="truncation_ratio"):
        step_from_values(values, 1, 1.0)


def test_recording_passes_inputs_through_and_names_each_step():
    dense = QuantizedDense(
        4, input_quantizer=LsqQuantizer(8), kernel_quantizer=LsqQuantizer(4, kind="weight")
    )
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2, 3)).astype("float32")
    dense.build(x.shape)
    # Biases off the s_in·s_w grid of the initial steps (1.0 each): recording must add them
    # as they are, as the float model does, not rounded onto that grid as inference does.
    dense.bias.assign(rng.uniform(-0.4, 0.4, size=4).astype("float32"))
    with recording_inputs() as records:
        y = dense(x, training=False)
    np.testing.assert_allclose(y, x @ dense.kernel.numpy() + dense.bias.numpy(), atol=1e-6)
    recorded = {step.name: value for _, value, step in records}
    assert sorted(recorded) == ["input_activation_step", "kernel_weight_step"]
    np.testing.assert_array_equal(recorded["input_activation_step"], x)
