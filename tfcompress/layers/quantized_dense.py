"""A dense projection with quantizer slots for its input and its kernel."""

import keras
from keras import ops

from tfcompress.layers.activations import get_activation
from tfcompress.layers.fake_quantizer import clone_quantizer, serialize_quantizer
from tfcompress.layers.initializers import fresh_initializer


@keras.saving.register_keras_serializable(package="tfcompress")
class QuantizedDense(keras.layers.Layer):
    """`activation(q_in(x) @ q_w(kernel) + bias)` over the last axis.

    With the default identity quantizers this is exactly a Dense layer. The
    kernel is stored (in, out), the layout TFLite's FULLY_CONNECTED expects
    after transposition, and the bias trains in float (KDLSQ keeps biases in higher
    precision). At inference, when the input and kernel quantizers have fixed grids
    (steps s_in, s_w), the bias is rounded to multiples of s_in·s_w: an integer kernel adds
    it to its int32 accumulator on that grid, and without the rounding the Keras model and
    its export round outputs near a tie differently.

    Args:
        units: int, the output width.
        activation: `None` (linear) or a name from `SUPPORTED_ACTIVATIONS`, spelled
            as Hugging Face configs do (`"gelu"` is the exact erf GELU).
        use_bias: bool, whether to add a bias. Defaults to `True`.
        kernel_initializer: initializer for the kernel; every weight gets a fresh
            copy. Defaults to `"glorot_uniform"`.
        bias_initializer: initializer for the bias. Defaults to `"zeros"`.
        input_quantizer: a `Quantizer` template for the input, or `None` (identity).
        kernel_quantizer: a `Quantizer` template for the kernel, or `None` (identity).
        output_quantizer: a `Quantizer` template for the output before the activation
            (`x @ kernel + bias`), or `None` (identity): an integer kernel writes an int8
            output, so a model that is to match its integer export quantizes it too.
        share_from: a `QuantizedDense` whose kernel, bias and kernel quantizer (with its
            learned step: one grid per shared tensor) this layer runs, or `None` to own
            its own. The input quantizer stays this layer's own, so each use of a shared
            weight learns the range of the activations it sees. Not serialized.
        **kwargs: base layer arguments such as `name` and `dtype`.

    Example:

    ```python
    dense = QuantizedDense(64, activation="gelu", kernel_quantizer=UniformQuantizer(8, 0.5))
    y = dense(np.ones((2, 8, 32), "float32"))  # [2, 8, 64]
    ```
    """

    def __init__(
        self,
        units,
        activation=None,
        use_bias=True,
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        input_quantizer=None,
        kernel_quantizer=None,
        output_quantizer=None,
        share_from=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.units = int(units)
        self.activation = activation
        self.use_bias = use_bias
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.bias_initializer = keras.initializers.get(bias_initializer)
        self.input_quantizer = clone_quantizer(input_quantizer)
        self.output_quantizer = clone_quantizer(output_quantizer)
        self.share_from = share_from
        self.kernel_quantizer = (
            clone_quantizer(kernel_quantizer) if share_from is None else share_from.kernel_quantizer
        )
        self._activation_fn = get_activation(activation)

    def build(self, input_shape):
        self.input_quantizer_weights = self.input_quantizer.build(input_shape, "input", self)
        output_shape = (*input_shape[:-1], self.units)
        self.output_quantizer_weights = self.output_quantizer.build(output_shape, "output", self)
        if self.share_from is not None:
            if not self.share_from.built:
                self.share_from.build(input_shape)
            return
        self._create_kernel(input_shape[-1])

    def _create_kernel(self, input_dim):
        self.kernel = self.add_weight(
            name="kernel",
            shape=(input_dim, self.units),
            initializer=fresh_initializer(self.kernel_initializer),
        )
        self.bias = None
        if self.use_bias:
            self.bias = self.add_weight(
                name="bias",
                shape=(self.units,),
                initializer=fresh_initializer(self.bias_initializer),
            )
        self.kernel_quantizer_weights = self.kernel_quantizer.build(
            self.kernel.shape, "kernel", self
        )

    def __getattr__(self, name):
        # A view reads its owner's weights without holding them as attributes (Keras would
        # track them as this layer's own).
        owner = self.__dict__.get("share_from")
        if owner is not None and name in _SHARED_ATTRIBUTES:
            return getattr(owner, name)
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def call(self, inputs, training=None, input_step=None):
        """`input_step`: the grid step of `inputs` when a caller quantized them (this
        layer's own input quantizer then being the identity), for the bias grid."""
        x = self.input_quantizer(inputs, training, self.input_quantizer_weights)
        kernel = self.kernel_quantizer(self.kernel, training, self.kernel_quantizer_weights)
        y = _matmul_last_axis(x, kernel)
        if self.bias is not None:
            y = y + (self.bias if training else self._integer_bias(input_step))
        y = self.output_quantizer(y, training, self.output_quantizer_weights)
        return self._activation_fn(y)

    def _integer_bias(self, input_step):
        """The bias on the s_in·s_w grid of the int32 accumulator, when both steps exist."""
        if input_step is None:
            input_step = self.input_quantizer.grid_step(self.input_quantizer_weights)
        kernel_step = self.kernel_quantizer.grid_step(self.kernel_quantizer_weights)
        if input_step is None or kernel_step is None:
            return self.bias
        bias = ops.convert_to_tensor(self.bias)
        grid = ops.cast(input_step * kernel_step, bias.dtype)
        return ops.round(bias / grid) * grid

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.units,)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "units": self.units,
                "activation": self.activation,
                "use_bias": self.use_bias,
                "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
                "bias_initializer": keras.initializers.serialize(self.bias_initializer),
                "input_quantizer": serialize_quantizer(self.input_quantizer),
                "kernel_quantizer": serialize_quantizer(self.kernel_quantizer),
                "output_quantizer": serialize_quantizer(self.output_quantizer),
            }
        )
        return config


_SHARED_ATTRIBUTES = ("kernel", "bias", "kernel_quantizer_weights")


def _matmul_last_axis(x, kernel):
    """`x @ kernel` over the last axis, as one rank-2 matmul when the leading dims are static.

    A rank-3 `matmul` traces to `Shape`/`Gather`/`ReduceProd` ops that compute the flattened
    shape at run time; with static shapes the flatten/unflatten is two constant `Reshape`s
    around one FULLY_CONNECTED in TFLite, which XNNPACK runs as a single GEMM.
    """
    leading = tuple(x.shape[:-1])
    if len(leading) < 2 or any(d is None for d in leading[1:]):
        return ops.matmul(x, kernel)
    flat = ops.matmul(ops.reshape(x, (-1, x.shape[-1])), kernel)
    return ops.reshape(flat, (-1, *leading[1:], kernel.shape[-1]))
