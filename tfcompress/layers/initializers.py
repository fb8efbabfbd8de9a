"""Initializer helper: one fresh instance per weight."""

import keras


def fresh_initializer(initializer):
    """A new instance of `initializer`.

    An unseeded Keras 3 initializer instance returns the *same* values on
    every call, so handing one instance to several weights would make, say,
    query and key kernels identical. Every weight gets its own copy instead.
    """
    return keras.initializers.get(keras.initializers.serialize(keras.initializers.get(initializer)))
