"""Learned step size quantization (LSQ, Esser et al.; KDLSQ-BERT, Jin et al.)."""

import contextlib
import math

import keras
from keras import ops

from tfcompress.layers.fake_quantizer import FakeQuantizer, grid_levels

LSQ_KINDS = ("weight", "activation")

# While `recording_inputs` is active, every LsqQuantizer call appends what it was given here
# and passes its input through unquantized (the float model, for step initialization).
_recorder = None


@contextlib.contextmanager
def recording_inputs():
    """Run a model inside this to collect `(quantizer, input, step variable)` of every LSQ call.

    Inside, LSQ quantizers return their inputs unchanged, so the recorded activations are
    the float model's. Use it eagerly (not inside a `tf.function`).
    """
    global _recorder
    previous, _recorder = _recorder, []
    try:
        yield _recorder
    finally:
        _recorder = previous


@keras.saving.register_keras_serializable(package="tfcompress")
class LsqQuantizer(FakeQuantizer):
    """x̂ = round(clip(x / s, -Qn, Qp)) · s with a learned step s.

    Signed weights use the narrow range Qn = Qp = 2^(bits-1) - 1 (TFLite's int8 weight
    grid), signed activations the full range Qn = 2^(bits-1), Qp = 2^(bits-1) - 1 (TFLite's
    int8 activation tensors hold [-128, 127]: on a narrow grid every value clipped at -127
    in Keras reads -128 in the export); unsigned tensors [0, 2^bits - 1]. The step is a
    trainable variable built on the layer that owns the slot, named `<slot>_weight_step` or
    `<slot>_activation_step` so a trainer can give each kind its own learning rate; the grid
    uses |s|.

    Gradients (LSQ): the step's gradient is scaled by g = 1/√(N·Qp), N the number of
    elements the step covers (for activations: of the whole batch tensor, as common LSQ
    implementations do). Activations get the straight-through estimator inside the range
    and zero outside it. Weights get a pass-through gradient everywhere (KDLSQ eq. 9), so
    weights clipped at the start can still move back.

    With `training=False` on TensorFlow a per-tensor quantizer runs TensorFlow's FakeQuant
    op (8-bit, min = -Qn·s, max = Qp·s, after a clip to the grid below 8 bits), which the
    TFLite converter turns into int8 tensors with scale s holding this exact grid.

    Args:
        bits: int in [2, 8], the grid's bit width. Defaults to `8`.
        kind: `"weight"` or `"activation"`: which gradient the input gets and how the
            step is named. Defaults to `"activation"`.
        signed: bool, whether the grid spans both signs (see above) or is [0, Qp].
            Defaults to `True`.
        per_channel: bool, one step per output channel (the last axis) instead of one per
            tensor; for weights only. Defaults to `False`.
        initial_step: positive float, the step before any initialization from data.
            Defaults to `1.0`.

    Example:

    ```python
    quantizer = LsqQuantizer(bits=4, kind="weight", initial_step=0.1)
    dense = QuantizedDense(16, kernel_quantizer=quantizer)
    dense.build((None, 8))
    dense.kernel_quantizer_weights["step"]  # the learned step (kernel_weight_step), 0.1
    ```
    """

    def __init__(self, bits=8, kind="activation", signed=True, per_channel=False, initial_step=1.0):
        if isinstance(bits, bool) or not isinstance(bits, int) or not 2 <= bits <= 8:
            raise ValueError(f"bits must be an integer in [2, 8], got {bits!r}")
        if kind not in LSQ_KINDS:
            raise ValueError(f"kind must be one of {', '.join(LSQ_KINDS)}, got {kind!r}")
        if per_channel and kind != "weight":
            raise ValueError("per_channel steps are for weights; activations take one step")
        if not initial_step > 0:
            raise ValueError(f"initial_step must be positive, got {initial_step}")
        self.bits = int(bits)
        self.kind = kind
        self.signed = bool(signed)
        self.per_channel = bool(per_channel)
        self.initial_step = float(initial_step)

    @property
    def levels(self):
        """(Qn, Qp): how many steps below and above zero the grid has."""
        return grid_levels(self.bits, self.signed, narrow=self._narrow)

    @property
    def _narrow(self):
        """Signed weights stay on TFLite's narrow weight range; activations take [-128, 127]."""
        return self.kind == "weight"

    def unsigned(self):
        """This quantizer on [0, 2^bits - 1], starting at the same clip (initial step × Qp)."""
        clip = self.initial_step * self.levels[1]
        unsigned_qp = grid_levels(self.bits, False, narrow=self._narrow)[1]
        return LsqQuantizer.from_config(
            {**self.get_config(), "signed": False, "initial_step": clip / unsigned_qp}
        )

    def build(self, shape, name, layer):
        step_shape = (shape[-1],) if self.per_channel else ()
        step = layer.add_weight(
            name=f"{name}_{self.kind}_step",
            shape=step_shape,
            initializer=keras.initializers.Constant(self.initial_step),
            trainable=True,
        )
        return {"step": step}

    def __call__(self, x, training, weights):
        step = weights["step"]
        if _recorder is not None:
            _recorder.append((self, x, step))
            return x
        if not training and keras.backend.backend() == "tensorflow":
            return self._tf_fake_quant(x, step)
        if self.kind == "weight":
            # Pass-through: x̂ - stop(x) + x has gradient 1 for x everywhere.
            frozen = ops.stop_gradient(x)
            return self._quantize(frozen, step) + (x - frozen)
        return self._quantize(x, step)

    def grid_step(self, weights):
        # While recording, values pass through unrounded: there is no grid, and a layer that
        # puts its bias on one (QuantizedDense) must add the float bias the float model has.
        if _recorder is not None:
            return None
        return _positive(weights["step"])

    def _quantize(self, x, step):
        qn, qp = self.levels
        elements = ops.cast(ops.size(x), "float32")
        if self.per_channel:
            elements = elements / x.shape[-1]
        scale = ops.cast(1.0 / ops.sqrt(elements * qp), step.dtype)
        s = ops.cast(_scale_gradient(_positive(step), scale), x.dtype)
        codes = ops.clip(x / s, -qn, qp)
        return _round_straight_through(codes) * s

    def _tf_fake_quant(self, x, step):
        import tensorflow as tf

        qn, qp = self.levels
        s = _positive(tf.cast(step, "float32"))
        if self.per_channel:
            # The per-channel FakeQuant op does not convert for FC kernels (its axis does not
            # follow the converter's transpose); the grid values themselves fold into a
            # constant, and the export's grid pass stores them with these steps as scales.
            return ops.round(ops.clip(x / ops.cast(s, x.dtype), -qn, qp)) * ops.cast(s, x.dtype)
        dtype = x.dtype
        x = tf.cast(x, "float32")  # FakeQuant has only a float32 kernel (mixed precision)
        if self.bits < 8:
            # An 8-bit FakeQuant with step s holds the low-bit grid once the values are
            # clipped to it: TFLite then stores int8 codes in [-Qn, Qp] with scale s, which
            # its int8 kernels run (a b-bit FakeQuant would ask for i4-typed tensors).
            x = tf.clip_by_value(x, -qn * s, qp * s)
            qn, qp = grid_levels(8, self.signed, narrow=self._narrow)
        quantized = tf.quantization.fake_quant_with_min_max_vars(
            x, -qn * s, qp * s, num_bits=8, narrow_range=self.signed and self._narrow
        )
        return tf.cast(quantized, dtype)

    def get_config(self):
        return {
            "bits": self.bits,
            "kind": self.kind,
            "signed": self.signed,
            "per_channel": self.per_channel,
            "initial_step": self.initial_step,
        }


def _positive(step):
    """The step in use: |s| (an optimizer step may carry s across zero), at least 1e-8."""
    return ops.maximum(ops.abs(step), 1e-8)


def _scale_gradient(x, scale):
    """x forward, `scale` · dL/dx backward."""
    return ops.stop_gradient(x - x * scale) + x * scale


def _round_straight_through(x):
    """round(x) forward, identity backward."""
    return x + ops.stop_gradient(ops.round(x) - x)


def step_from_values(values, qp, truncation_ratio, axis=None):
    """KDLSQ Algorithm 1: sort |values|; the one at `truncation_ratio` from the top is the clip;
    the step is clip / Qp. `axis=-1`: one step per channel of the last axis.

    `truncation_ratio` is the share of values left outside the clip (0 keeps the largest).
    """
    import numpy as np

    if not 0.0 <= truncation_ratio < 1.0:
        raise ValueError(f"truncation_ratio must be in [0, 1), got {truncation_ratio}")
    magnitudes = np.abs(np.asarray(values, np.float64))
    magnitudes = magnitudes.reshape(-1, magnitudes.shape[-1]) if axis == -1 else magnitudes.ravel()
    count = magnitudes.shape[0]
    # The k-th largest, counted from 0: ⌊ratio·N⌋ values lie above it.
    kth = min(math.floor(truncation_ratio * count), count - 1)
    clip = np.partition(magnitudes, count - 1 - kth, axis=0)[count - 1 - kth]
    return np.maximum(clip, 1e-8) / qp
