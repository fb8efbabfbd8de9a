"""A fixed-range symmetric fake quantizer (no learned state)."""

import keras
from keras import ops

from tfcompress.layers.fake_quantizer import FakeQuantizer, grid_levels


@keras.saving.register_keras_serializable(package="tfcompress")
class UniformQuantizer(FakeQuantizer):
    """x̂ = round(clip(x / s, -Qn, Qp)) · s with a fixed clip value, s = clip / Qp.

    Signed values use the narrow range Qn = Qp = 2^(bits-1) - 1 (what TFLite's
    int8 weight kernels expect); unsigned values use [0, 2^bits - 1]. The
    gradient is straight-through inside the range and zero outside it. Useful as
    a post-training fake-quant, for quantization-aware training at a fixed range,
    and as the reference quantizer in tests. `LsqQuantizer` learns its step instead.

    Args:
        bits: int in [2, 16], the grid's bit width. Defaults to `8`.
        clip_value: positive float, the largest magnitude on the grid; the step
            is `clip_value / Qp`. Defaults to `1.0`.
        signed: bool. `True` quantizes to [-clip_value, clip_value] (narrow
            range), `False` to [0, clip_value]. Defaults to `True`.

    Example:

    ```python
    quantizer = UniformQuantizer(bits=4, clip_value=1.0)  # step 1/7
    quantizer(np.array([0.05, 0.3, 2.0], "float32"), training=True, weights={})
    # -> [0.0, 0.2857, 1.0]
    encoder = Encoder(config, weight_quantizer=UniformQuantizer(8, clip_value=0.25))
    ```
    """

    def __init__(self, bits=8, clip_value=1.0, signed=True):
        if not 2 <= int(bits) <= 16:
            raise ValueError(f"bits must be in [2, 16], got {bits}")
        if clip_value <= 0:
            raise ValueError(f"clip_value must be positive, got {clip_value}")
        self.bits = int(bits)
        self.clip_value = float(clip_value)
        self.signed = bool(signed)

    @property
    def levels(self):
        """(Qn, Qp): how many steps below and above zero the grid has."""
        return grid_levels(self.bits, self.signed)

    def __call__(self, x, training, weights):
        if not training and keras.backend.backend() == "tensorflow":
            return self._tf_fake_quant(x)
        qn, qp = self.levels
        step = self.clip_value / qp
        clipped = ops.clip(x / step, -qn, qp)
        quantized = ops.round(clipped) * step
        # Straight-through estimator: forward uses the rounded value, backward
        # sees d(clipped * step)/dx, i.e. 1 inside the range and 0 outside.
        return clipped * step + ops.stop_gradient(quantized - clipped * step)

    def _tf_fake_quant(self, x):
        # The same grid as TensorFlow's FakeQuant op, which the TFLite converter turns into
        # the tensor's int8 scale: a model trained with this quantizer exports as QAT.
        import tensorflow as tf

        low = -self.clip_value if self.signed else 0.0
        # FakeQuant has only a float32 kernel; under mixed precision x is bfloat16 or float16.
        quantized = tf.quantization.fake_quant_with_min_max_args(
            tf.cast(x, "float32"),
            min=low,
            max=self.clip_value,
            num_bits=self.bits,
            narrow_range=self.signed,
        )
        return tf.cast(quantized, x.dtype)

    def get_config(self):
        return {"bits": self.bits, "clip_value": self.clip_value, "signed": self.signed}
