import numpy as np

from tests.layers.helpers import assert_config_roundtrip, assert_saved_model_identical, wrap
from tfcompress.layers import TransformerBlock, UniformQuantizer


def _block(**kwargs):
    return TransformerBlock(8, 2, 16, dropout=0.0, attention_dropout=0.0, **kwargs)


def _x():
    return np.random.default_rng(1).normal(size=(2, 4, 8)).astype("float32")


def test_post_layer_norm_output_is_normalized():
    out, probs, scores = _block()(_x())
    assert out.shape == (2, 4, 8) and probs.shape == (2, 2, 4, 4)
    np.testing.assert_allclose(out.numpy().mean(-1), 0.0, atol=1e-5)
    np.testing.assert_allclose(out.numpy().std(-1), 1.0, atol=1e-3)


def test_shared_block_owns_nothing_and_unswapped_share_is_identical():
    base = _block()
    x = _x()
    expected = base(x)[0].numpy()
    same = _block(share_from=base)
    np.testing.assert_array_equal(same(x)[0].numpy(), expected)
    swapped = _block(share_from=base, swap_query_key=True)
    assert swapped.attention.query_dense.kernel is base.attention.key_dense.kernel
    assert swapped.output_layer_norm is base.output_layer_norm
    assert not np.allclose(swapped(x)[0].numpy(), expected)
    assert {id(w) for w in swapped.weights} <= {id(w) for w in base.weights}


def test_weight_quantizer_changes_output():
    x = _x()
    plain = _block()
    expected = plain(x)[0].numpy()
    quantized = _block(weight_quantizer=UniformQuantizer(3, 0.3))
    quantized(x)
    quantized.set_weights(plain.get_weights())
    assert np.abs(quantized(x)[0].numpy() - expected).max() > 1e-3


def test_config_and_save_load(tmp_path):
    layer = _block(hidden_act="gelu_approximate")
    assert_config_roundtrip(layer)
    assert_saved_model_identical(wrap(layer, (4, 8)), _x(), tmp_path)
