"""Run a batch-1 `.tflite` on batched inputs, returning what the Keras model would return."""

import numpy as np
from ai_edge_litert.interpreter import Interpreter, OpResolverType

from tfcompress.export.length_buckets import pad_token_outputs


class TFLiteModelRunner:
    """Callable like the Keras task model: `runner(inputs)` → array, or dict for multi-output.

    The export is batch 1 (what a phone runs), so a batch is run one row at a time. A
    single-output model returns an array; a multi-output one a dict keyed by output name.
    Per-token outputs of a length-bucketed export come back padded to the input length.
    """

    def __init__(self, model_content: bytes, num_threads=1):
        self._interpreter = Interpreter(model_content=model_content, num_threads=num_threads)
        self._runner = self._interpreter.get_signature_runner()
        self.input_names = sorted(self._runner.get_input_details())
        self.output_names = sorted(self._runner.get_output_details())

    def __call__(self, inputs, training=False):
        arrays = {name: np.asarray(inputs[name], np.int32) for name in self.input_names}
        rows, length = next(iter(arrays.values())).shape[:2]
        results = [
            pad_token_outputs(self._runner(**{n: a[i : i + 1] for n, a in arrays.items()}), length)
            for i in range(rows)
        ]
        stacked = {name: np.concatenate([r[name] for r in results]) for name in self.output_names}
        if len(stacked) == 1:
            return next(iter(stacked.values()))
        return stacked


def inspecting_interpreter(model_content: bytes) -> Interpreter:
    """An allocated interpreter whose intermediate tensors stay readable after each invoke.

    Delegates would own the intermediates, so it runs TFLite's builtin kernels only.
    """
    interpreter = Interpreter(
        model_content=model_content,
        experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES,
        experimental_preserve_all_tensors=True,
    )
    interpreter.allocate_tensors()
    return interpreter
