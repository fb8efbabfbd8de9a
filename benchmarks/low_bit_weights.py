"""Low-bit weight storage for a KDLSQ run: ai-edge-quantizer on the float export, beside qat.

The qat export runs int8 kernels and stores a 2- or 4-bit grid in int8 tensors. This script
asks whether LiteRT can store (and run) the weights at their trained width: it converts the
run's Keras model to a float .tflite (the fake-quant weights fold onto their grid), applies
ai-edge-quantizer's dynamic recipe with int2 / int4 / int8 weights (float activations,
per-channel scales of its own), and measures size, top-1 agreement with the Keras model on
the whole dev set, task metrics and p50 latency (1 thread) next to `export/qat.tflite`.
Needs `pip install ai-edge-quantizer` (not a tfcompress dependency).

Usage: python benchmarks/low_bit_weights.py runs/kdlsq/mrpc_4-4-8_lsq_kd_gt [--runs 50]
Writes RUN_DIR/export/low_bit_weights.json.
"""

import argparse
import json
import sys
import tempfile
from pathlib import Path

import numpy as np

RECIPES = {2: "dynamic_wi2c_afp32", 4: "dynamic_wi4_afp32", 8: "dynamic_wi8_afp32"}


def _quantize_weights(float_model, bits):
    from ai_edge_quantizer import quantizer, recipe

    recipe_name = RECIPES.get(bits)
    if recipe_name is None:
        raise SystemExit(f"no ai-edge-quantizer recipe for {bits}-bit weights")
    result = quantizer.Quantizer(float_model, getattr(recipe, recipe_name)()).quantize()
    return bytes(result.quantized_model), recipe_name


def _logits(outputs):
    """The sentence-level output (a joint model's intent logits)."""
    if isinstance(outputs, dict):
        outputs = outputs["intent_logits"]
    return np.asarray(outputs)


def _measure(content, verification, keras_outputs, runtime, runs):
    from tfcompress.export.tflite_model_runner import TFLiteModelRunner
    from tfcompress.latency.host_timing import measure_latency

    runner = TFLiteModelRunner(content)
    outputs = np.concatenate([_logits(runner(batch)) for batch in verification])
    with tempfile.NamedTemporaryFile(suffix=".tflite") as f:
        f.write(content)
        f.flush()
        latency = measure_latency(f.name, threads=(1,), runs=runs, warmup=5)
    return {
        "size_mb": round(len(content) / 2**20, 3),
        "agreement": float((outputs.argmax(-1) == keras_outputs.argmax(-1)).mean()),
        "max_abs_diff": float(np.abs(outputs - keras_outputs).max()),
        "eval": runtime.evaluate(runner),
        "p50_ms": latency["results"][0]["p50_ms"],
    }


def main(argv=None):
    from tfcompress.export.converter import convert
    from tfcompress.models.quantized_copy import float_copy_on_grid
    from tfcompress.tasks import FinishedRun

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("--runs", type=int, default=50)
    args = parser.parse_args(argv)
    run = FinishedRun.read(args.run_dir)
    runtime = run.task_runtime()
    model = run.load_model()
    bits = model.encoder.weight_quantizer.bits
    verification = runtime.inputs(runtime.eval)
    keras_outputs = np.concatenate([_logits(model(batch)) for batch in verification])
    # The float model with its weights on the trained grid and no activation quantizers: a
    # fake-quant graph would reach ai-edge-quantizer already int8 in places.
    float_model = convert(float_copy_on_grid(model), "float", runtime.tokenizer.sequence_length)
    low_bit, recipe_name = _quantize_weights(float_model, bits)
    record = {
        "command": "python benchmarks/low_bit_weights.py " + " ".join(sys.argv[1:]),
        "run": str(args.run_dir),
        "weight_bits": bits,
        "recipe": recipe_name,
        "keras_eval": runtime.evaluate(model),
        "float": _measure(float_model, verification, keras_outputs, runtime, args.runs),
        recipe_name: _measure(low_bit, verification, keras_outputs, runtime, args.runs),
    }
    qat = args.run_dir / "export" / "qat.tflite"
    if qat.is_file():
        record["qat"] = _measure(qat.read_bytes(), verification, keras_outputs, runtime, args.runs)
    out = args.run_dir / "export" / "low_bit_weights.json"
    out.write_text(json.dumps(record, indent=1) + "\n")
    print(json.dumps(record, indent=1))


if __name__ == "__main__":
    main()
