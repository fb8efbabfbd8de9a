"""The fake-quantizer protocol of tfcompress's layers, with identity as the default behaviour.

Named apart from `keras.quantizers.Quantizer`, which does something else: Keras's quantizers
turn a tensor into integer values plus a scale for `model.quantize` (post-training weight
quantization of Keras's own Dense/EinsumDense/Embedding layers). A `FakeQuantizer` sits in a
slot of our layers during training and returns x̂, the float value on its grid, so the model
learns under quantization (uniform ranges, LSQ steps) and the TFLite converter later turns
those grids into integer kernels.
"""

import keras


@keras.saving.register_keras_serializable(package="tfcompress")
class FakeQuantizer:
    """Identity quantizer and base class of every tfcompress quantizer (a training-time slot:
    x → x̂ on the quantizer's grid; not `keras.quantizers.Quantizer`).

    Follows TFMOT's split between state and numerics: `build` creates whatever
    variables the quantizer needs *on the layer that owns the slot* (so they are
    tracked, trained and saved with it) and returns them; `__call__` applies the
    quantization given those variables. Subclasses override both plus
    `get_config`. Layers take quantizers as templates and `clone()` one per slot,
    so two slots never share state by accident (e.g. the learned steps of
    `LsqQuantizer`).

    The identity takes no arguments. A subclass takes its settings as
    constructor arguments and returns them from `get_config` (`clone` and
    saving rebuild it from that dict).

    Example:

    ```python
    @keras.saving.register_keras_serializable(package="my_project")
    class ClipQuantizer(FakeQuantizer):
        def __init__(self, limit=1.0):
            self.limit = limit

        def __call__(self, x, training, weights):
            return keras.ops.clip(x, -self.limit, self.limit)

        def get_config(self):
            return {"limit": self.limit}


    dense = QuantizedDense(16, input_quantizer=ClipQuantizer(2.0))
    ```
    """

    def build(self, shape, name, layer):
        """Creates this slot's variables on `layer`; returns them as a dict."""
        return {}

    def __call__(self, x, training, weights):
        return x

    def grid_step(self, weights):
        """The spacing of the grid `__call__` rounds to at inference (a scalar, or one per
        channel), or `None` where there is no fixed grid (the identity)."""
        return None

    def get_config(self):
        return {}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def clone(self):
        return self.__class__.from_config(self.get_config())

    def unsigned(self):
        """A fresh quantizer for values known to be >= 0 (attention probabilities); a
        subclass with an unsigned grid returns that, the default a plain clone."""
        return self.clone()

    @property
    def is_identity(self):
        """Whether this quantizer leaves values as they are (does not override `__call__`)."""
        return type(self).__call__ is FakeQuantizer.__call__

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


def grid_levels(bits, signed, narrow=True):
    """(Qn, Qp) of a `bits`-wide grid: when signed, narrow symmetric 2^(bits-1) - 1 each way
    (TFLite's int8 weight range) or, with `narrow=False`, one more level below zero (the
    [-128, 127] of TFLite's int8 activations); else [0, 2^bits - 1]."""
    if signed:
        q = 2 ** (bits - 1) - 1
        return (q if narrow else q + 1), q
    return 0, 2**bits - 1


def clone_quantizer(template):
    """A fresh quantizer for one slot: identity when no template is given."""
    if template is None:
        return FakeQuantizer()
    if isinstance(template, dict):
        template = keras.saving.deserialize_keras_object(template)
    if not isinstance(template, FakeQuantizer):
        raise TypeError(f"expected a tfcompress FakeQuantizer, got {type(template).__name__}")
    return template.clone()


def serialize_quantizer(quantizer):
    return None if quantizer is None else keras.saving.serialize_keras_object(quantizer)
