"""Is the rest of a qat export's disagreement in the FC accumulation? A probe.

An int8 FULLY_CONNECTED sums integer codes exactly in int32; the Keras model sums x̂·ŵ in
float32, which moves values within float error of a rounding tie. This compares the export's
top-1 on every eval example with (a) the Keras model as it is and (b) the same model with each
LSQ dense computing round(x̂/s_in) @ round(ŵ/s_w) (integer-valued float32: exact while the
sums stay under 2^24) plus the bias on the s_in·s_w grid. If (b) agrees no better than (a),
the remaining flips come from the float islands (LayerNorm, softmax, GELU), which TFLite and
TensorFlow compute with different kernels.

Usage (repository root; a quantize run exported with `tfcompress export RUN --mode qat`):
  python benchmarks/qat_parity_probe.py runs/kdlsq/mrpc_8-8-8_lsq_kd_gt \
      --out docs/runs/kdlsq/parity_fix/mrpc_8-8-8_probe.json
"""

import argparse
import contextlib
import json
import os

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


@contextlib.contextmanager
def exact_integer_accumulation():
    """Within the block, LSQ denses accumulate integer codes exactly at inference."""
    from keras import ops

    from tfcompress.layers import quantized_dense

    layer_class = quantized_dense.QuantizedDense
    original = layer_class.call

    def call(self, inputs, training=None, input_step=None):
        if input_step is None:
            input_step = self.input_quantizer.grid_step(self.input_quantizer_weights)
        kernel_step = self.kernel_quantizer.grid_step(self.kernel_quantizer_weights)
        if training or input_step is None or kernel_step is None or self.bias is None:
            return original(self, inputs, training, input_step)
        x = self.input_quantizer(inputs, training, self.input_quantizer_weights)
        kernel = self.kernel_quantizer(self.kernel, training, self.kernel_quantizer_weights)
        codes = quantized_dense._matmul_last_axis(
            ops.round(x / input_step), ops.round(kernel / kernel_step)
        )
        y = codes * (input_step * kernel_step) + self._integer_bias(input_step)
        return self._activation_fn(
            self.output_quantizer(y, training, self.output_quantizer_weights)
        )

    layer_class.call = call
    try:
        yield
    finally:
        layer_class.call = original


def keras_outputs(model, batches):
    """{output name: array} over all batches (a single output is called "logits")."""
    outputs = [model(batch, training=False) for batch in batches]
    if not isinstance(outputs[0], dict):
        outputs = [{"logits": o} for o in outputs]
    return {k: np.concatenate([np.asarray(o[k]) for o in outputs]) for k in outputs[0]}


def tflite_outputs(content, batches):
    from tfcompress.export.tflite_model_runner import TFLiteModelRunner

    return keras_outputs(TFLiteModelRunner(content), batches)


def agreement(reference, tflite, mask):
    """Top-1 agreement per output; per-token outputs count real tokens only."""
    result = {}
    for name, values in tflite.items():
        ours, theirs = values, reference[name]
        if values.ndim == 3:
            ours, theirs = values[mask], theirs[mask]
        result[name] = {
            "agreement": float((ours.argmax(-1) == theirs.argmax(-1)).mean()),
            "max_abs_diff": float(np.abs(ours - theirs).max()),
        }
    return result


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("run_dir", help="a quantize run with export/qat.tflite")
    parser.add_argument("--out", help="write the JSON record here")
    args = parser.parse_args()

    from tfcompress.atomic_write import write_json_atomic
    from tfcompress.tasks.finished_run import FinishedRun

    run = FinishedRun.read(args.run_dir)
    runtime = run.task_runtime()
    model = run.load_model()
    batches = list(runtime.inputs(runtime.eval))
    mask = np.concatenate([np.asarray(b["padding_mask"]) for b in batches]).astype(bool)
    tflite = tflite_outputs((run.directory / "export" / "qat.tflite").read_bytes(), batches)
    plain = keras_outputs(model, batches)
    with exact_integer_accumulation():
        exact = keras_outputs(model, batches)
    record = {
        "run_dir": args.run_dir,
        "examples": len(runtime.eval),
        "keras": agreement(plain, tflite, mask),
        "keras_exact_integer_fc": agreement(exact, tflite, mask),
    }
    if args.out:
        write_json_atomic(args.out, record)
    print(json.dumps(record, indent=2))


if __name__ == "__main__":
    main()
