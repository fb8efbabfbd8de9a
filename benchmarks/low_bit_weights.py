"""Low-bit weight storage for a KDLSQ run: our packed qat export against ai-edge-quantizer.

The qat export runs int8 kernels and stores a 2- or 4-bit grid in int8 tensors. This script
asks how LiteRT can store (and run) the weights at their trained width, two ways:
- `export/qat.tflite` with its kernels stored as INT4 (and, for 2-bit runs, INT2) tensors
  (`tfcompress.export.low_bit_storage`, what `export --mode qat --weight-bits` writes);
- ai-edge-quantizer's dynamic recipe with int2 / int4 / int8 weights on the run's model
  converted to float (the fake-quant weights fold onto their grid; float activations,
  per-channel scales of its own).
For each: size, top-1 agreement with the Keras model on the whole dev set, task metrics, and
p50 latency (1 thread, the files timed in turns, `--rounds` passes of `--runs` runs each, the
median of the pass medians). Needs `pip install ai-edge-quantizer` (not a tfcompress dependency).

Usage: python benchmarks/low_bit_weights.py runs/kdlsq/mrpc_4-4-8_lsq_kd_gt [--runs 50] [--rounds 3]
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


def _measure(content, verification, keras_outputs, runtime):
    from tfcompress.export.tflite_model_runner import TFLiteModelRunner

    runner = TFLiteModelRunner(content)
    outputs = np.concatenate([_logits(runner(batch)) for batch in verification])
    record = {
        "size_mb": round(len(content) / 2**20, 3),
        "agreement": float((outputs.argmax(-1) == keras_outputs.argmax(-1)).mean()),
        "max_abs_diff": float(np.abs(outputs - keras_outputs).max()),
        "eval": runtime.evaluate(runner),
    }
    return record, outputs


def _p50_in_turns(contents, runs, rounds):
    """{name: p50 ms}: each file timed `rounds` times in turn, the median of its pass medians."""
    from tfcompress.latency.host_timing import measure_latency

    with tempfile.TemporaryDirectory() as folder:
        paths = {}
        for name, content in contents.items():
            paths[name] = Path(folder) / f"{name}.tflite"
            paths[name].write_bytes(content)
        passes = {name: [] for name in contents}
        for _ in range(rounds):
            for name, path in paths.items():
                latency = measure_latency(str(path), threads=(1,), runs=runs, warmup=5)
                passes[name].append(latency["results"][0]["p50_ms"])
    return {name: float(np.median(values)) for name, values in passes.items()}


def main(argv=None):
    from tfcompress.export.converter import convert
    from tfcompress.export.low_bit_storage import WEIGHT_BITS, store_low_bit_weights
    from tfcompress.models.quantized_copy import float_copy_on_grid
    from tfcompress.tasks import FinishedRun

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=3)
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
    contents = {"float": float_model, recipe_name: low_bit}
    qat = args.run_dir / "export" / "qat.tflite"
    if qat.is_file():
        contents["qat"] = qat.read_bytes()
        for packed_bits in [b for b in WEIGHT_BITS if b >= bits]:
            contents[f"qat_w{packed_bits}"] = store_low_bit_weights(contents["qat"], packed_bits)[0]
    record = {
        "command": "python benchmarks/low_bit_weights.py " + " ".join(sys.argv[1:]),
        "run": str(args.run_dir),
        "weight_bits": bits,
        "recipe": recipe_name,
        "keras_eval": runtime.evaluate(model),
    }
    outputs = {}
    for name, content in contents.items():
        record[name], outputs[name] = _measure(content, verification, keras_outputs, runtime)
    for name in contents:
        if name.startswith("qat_w"):
            record[name]["identical_to_qat"] = bool(np.array_equal(outputs[name], outputs["qat"]))
    for name, p50 in _p50_in_turns(contents, args.runs, args.rounds).items():
        record[name]["p50_ms"] = p50
    out = args.run_dir / "export" / "low_bit_weights.json"
    out.write_text(json.dumps(record, indent=1) + "\n")
    print(json.dumps(record, indent=1))


if __name__ == "__main__":
    main()
