import numpy as np
import pytest

from tests.layers.helpers import assert_config_roundtrip, assert_saved_model_identical, wrap
from tfcompress.layers import LsqQuantizer, MultiHeadSelfAttention, UniformQuantizer


def _x():
    return np.random.default_rng(0).normal(size=(2, 5, 8)).astype("float32")


def test_probabilities_are_masked_softmax_of_scores():
    layer = MultiHeadSelfAttention(8, 2)
    bias = np.zeros((2, 1, 1, 5), "float32")
    bias[1, ..., 3:] = -10000.0
    out, probs, scores = layer(_x(), attention_bias=bias)
    assert out.shape == (2, 5, 8) and probs.shape == scores.shape == (2, 2, 5, 5)
    np.testing.assert_allclose(probs.numpy().sum(-1), 1.0, atol=1e-6)
    assert np.all(probs.numpy()[1, ..., 3:] == 0)
    logits = scores.numpy() + bias
    expected = np.exp(logits - logits.max(-1, keepdims=True))
    np.testing.assert_allclose(probs, expected / expected.sum(-1, keepdims=True), atol=1e-6)


def test_swapped_sharing_reuses_kernels_and_transposes_scores():
    base = MultiHeadSelfAttention(8, 2)
    x = _x()
    _, _, base_scores = base(x)
    shared = MultiHeadSelfAttention(8, 2, share_from=base, swap_query_key=True)
    _, _, shared_scores = shared(x)
    assert shared.query_dense.kernel is base.key_dense.kernel
    assert shared.key_dense.kernel is base.query_dense.kernel
    assert shared.value_dense.kernel is base.value_dense.kernel
    assert len(shared.weights) == len(base.weights) and shared.count_params() == base.count_params()
    # Swapping Q and K transposes every head's score matrix.
    np.testing.assert_allclose(shared_scores, np.swapaxes(base_scores, -1, -2), atol=1e-5)


def test_swap_needs_a_base_layer():
    with pytest.raises(ValueError, match="needs share_from"):
        MultiHeadSelfAttention(8, 2, swap_query_key=True)


def test_activation_quantizer_changes_output_identity_does_not():
    x = _x()
    plain = MultiHeadSelfAttention(8, 2)
    plain_out = plain(x)[0].numpy()
    quantized = MultiHeadSelfAttention(8, 2, activation_quantizer=UniformQuantizer(4, 2.0))
    quantized(x)
    quantized.set_weights(plain.get_weights())
    assert np.abs(quantized(x)[0].numpy() - plain_out).max() > 1e-3
    identity = MultiHeadSelfAttention(8, 2)
    identity(x)
    identity.set_weights(plain.get_weights())
    np.testing.assert_array_equal(identity(x)[0].numpy(), plain_out)


def test_config_and_save_load(tmp_path):
    layer = MultiHeadSelfAttention(8, 2, weight_quantizer=UniformQuantizer(8, 1.0))
    assert_config_roundtrip(layer)
    model = wrap(layer, (5, 8))
    assert_saved_model_identical(model, _x(), tmp_path)


def test_a_shared_layer_runs_the_base_weight_grids_with_activation_steps_of_its_own():
    lsq = {"weight_quantizer": LsqQuantizer(4, "weight"), "activation_quantizer": LsqQuantizer(8)}
    base = MultiHeadSelfAttention(8, 2, **lsq)
    base(_x())
    shared = MultiHeadSelfAttention(8, 2, share_from=base, swap_query_key=True, **lsq)
    shared(_x())
    query, key = shared.query_dense, shared.key_dense
    assert query.share_from is base.key_dense and key.share_from is base.query_dense
    assert query.kernel_quantizer_weights is base.key_dense.kernel_quantizer_weights
    own = {id(v) for v in shared._trainable_variables} | {
        id(v) for v in shared.output_dense._trainable_variables
    }
    base_ids = {id(v) for v in base.weights}
    # The layer input (read by query, key and value), the context and 4 matmul operands:
    # activation steps only, none of them the base's.
    assert len(own) == 6 and not own & base_ids


def test_scores_are_scaled_dot_products():
    layer = MultiHeadSelfAttention(8, 2)
    x = _x()
    _, _, scores = layer(x)
    q = (x @ layer.query_dense.kernel.numpy()).reshape(2, 5, 2, 4).transpose(0, 2, 1, 3)
    k = (x @ layer.key_dense.kernel.numpy()).reshape(2, 5, 2, 4).transpose(0, 2, 1, 3)
    np.testing.assert_allclose(scores, q @ k.transpose(0, 1, 3, 2) / 2.0, atol=1e-5)
