"""Activation names as Hugging Face configs spell them, mapped to exact Keras ops."""

import keras

# HF "gelu" is the exact erf GELU; "gelu_new" / "gelu_pytorch_tanh" are the tanh
# approximation keras-hub's BERT uses. Mixing them up costs ~2.6e-3 on MiniLM.
_ACTIVATIONS = {
    "gelu": lambda x: keras.activations.gelu(x, approximate=False),
    "gelu_approximate": lambda x: keras.activations.gelu(x, approximate=True),
    "gelu_new": lambda x: keras.activations.gelu(x, approximate=True),
    "gelu_pytorch_tanh": lambda x: keras.activations.gelu(x, approximate=True),
    "relu": keras.activations.relu,
    "tanh": keras.activations.tanh,
    "linear": keras.activations.linear,
}

SUPPORTED_ACTIVATIONS = tuple(sorted(_ACTIVATIONS))


def get_activation(name):
    """The activation function for `name` (None means linear)."""
    if name is None:
        return keras.activations.linear
    try:
        return _ACTIVATIONS[name]
    except KeyError:
        raise ValueError(
            f"unsupported activation {name!r}; use one of {', '.join(SUPPORTED_ACTIVATIONS)}"
        ) from None
