import numpy as np
import tensorflow as tf

from tfcompress.layers import FakeQuantizer, Quantizer, UniformQuantizer


def test_signed_narrow_range_grid_and_clipping():
    q = UniformQuantizer(bits=2, clip_value=1.0)
    assert q.levels == (1, 1)
    x = tf.constant([-3.0, -0.6, -0.4, 0.2, 0.6, 5.0])
    np.testing.assert_allclose(q(x, True, {}).numpy(), [-1, -1, 0, 0, 1, 1])


def test_unsigned_range():
    q = UniformQuantizer(bits=3, clip_value=7.0, signed=False)
    x = tf.constant([-1.0, 2.4, 9.0])
    np.testing.assert_allclose(q(x, True, {}).numpy(), [0, 2, 7])


def test_straight_through_gradient_inside_range_only():
    q = UniformQuantizer(bits=8, clip_value=1.0)
    x = tf.constant([0.3, -0.2, 2.0])
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = tf.reduce_sum(q(x, True, {}))
    np.testing.assert_allclose(tape.gradient(y, x).numpy(), [1, 1, 0])


def test_identity_and_clone():
    x = tf.constant([0.123, 4.56])
    assert FakeQuantizer()(x, True, {}) is x
    assert FakeQuantizer().is_identity and not UniformQuantizer().is_identity
    q = UniformQuantizer(4, 2.0, signed=False)
    c = q.clone()
    assert c is not q and c.get_config() == q.get_config()


def test_the_old_name_still_loads_and_warns():
    """`Quantizer` (the name before FakeQuantizer) deserializes from configs saved with it,
    is the identity, and says it is deprecated."""
    import keras
    import pytest

    with pytest.warns(DeprecationWarning, match="now FakeQuantizer"):
        old = keras.saving.deserialize_keras_object(
            {
                "module": None,
                "class_name": "Quantizer",
                "config": {},
                "registered_name": "tfcompress>Quantizer",
            }
        )
    assert isinstance(old, FakeQuantizer) and isinstance(old, Quantizer) and old.is_identity
