"""LayerNormalization written with the ops every TFLite integer path has kernels for."""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="tfcompress")
class LayerNorm(keras.layers.LayerNormalization):
    """`keras.layers.LayerNormalization` over the last axis, same weights and result.

    Keras computes the variance with `moments` (a SQUARED_DIFFERENCE op in TFLite), which has
    no int16 kernel, so int16x8 exports fail at run time. Here the variance is
    `mean(centered * centered)`: SUB, MUL, MEAN and RSQRT, which every integer mode runs,
    and XNNPACK fuses well in float.

    Half-precision inputs (float16, bfloat16) are normalized in float32 and cast
    back to the layer's compute dtype, as Keras's own layer does.

    Args:
        **kwargs: the arguments of `keras.layers.LayerNormalization` (`epsilon`,
            `center`, `scale`, ...; an `axis` other than the last falls back to
            Keras's computation) and base layer arguments such as `name`, `dtype`.

    Example:

    ```python
    norm = LayerNorm(epsilon=1e-12)
    y = norm(np.random.normal(size=(2, 8, 32)).astype("float32"))
    ```
    """

    def call(self, inputs):
        if self.axis not in (-1, [-1], (-1,)) and self.axis != [len(inputs.shape) - 1]:
            return super().call(inputs)
        # Statistics in float32 for half-precision inputs, as Keras's own LayerNormalization.
        half = keras.backend.standardize_dtype(inputs.dtype) in ("float16", "bfloat16")
        x = ops.cast(inputs, "float32") if half else inputs
        centered = x - ops.mean(x, axis=-1, keepdims=True)
        variance = ops.mean(centered * centered, axis=-1, keepdims=True)
        outputs = centered * ops.rsqrt(variance + self.epsilon)
        if self.scale:
            outputs = outputs * self.gamma
        if self.center:
            outputs = outputs + self.beta
        return ops.cast(outputs, self.compute_dtype)
