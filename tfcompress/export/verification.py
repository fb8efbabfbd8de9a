"""What a converted model is (ops and dtypes, size) and whether it still computes the Keras model."""

import collections

import numpy as np

from tfcompress.errors import TfcompressError

# (min argmax agreement, max abs diff) a mode must meet on the verification sample. Float
# modes must compute the same function; quantized modes are held to top-1 agreement only,
# since logit differences scale with the logits.
DEFAULT_TOLERANCES = {
    "float": (0.999, 1e-3),
    "float16": (0.99, 5e-2),
    "dynamic": (0.95, None),
    "int8": (0.95, None),
    "int16x8": (0.95, None),
    "qat": (0.95, None),
}

# Ops that only move or reinterpret data: their dtype says nothing about where time goes.
_LAYOUT_OPS = {"RESHAPE", "TRANSPOSE", "STRIDED_SLICE", "SQUEEZE", "EXPAND_DIMS", "GATHER"}


_INDEX_DTYPES = {"int32", "int64"}


class ParityError(TfcompressError):
    """The converted model disagrees with the Keras model beyond the tolerance."""


def op_histogram(model_content: bytes) -> list[dict]:
    """`[{op, dtype, count}]`: each op type with the dtypes of its inputs, over every subgraph
    (a length-bucketed export holds its encoders in branch subgraphs; a split text model its
    tokenizer).

    "int8" is an integer kernel, "float32+int8" a hybrid one (dynamic-range: int8 weights, float activations).
    Custom ops (a strings-in model's tokenizer) are listed under their custom names.
    """
    from ai_edge_litert import schema_py_generated as schema

    model = schema.ModelT.InitFromPackedBuf(model_content, 0)
    names = {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}
    counts = collections.Counter()
    for graph in model.subgraphs:
        for op in graph.operators:
            code = model.operatorCodes[op.opcodeIndex]
            builtin = max(code.builtinCode, code.deprecatedBuiltinCode)
            name = code.customCode.decode() if code.customCode else names[builtin]
            inputs = [_dtype_name(graph.tensors[i].type) for i in op.inputs if i >= 0]
            # Index, axis and bias operands (int32/int64) say nothing about the compute dtype.
            data = [d for d in inputs if d not in _INDEX_DTYPES] or inputs
            dtype = "+".join(sorted(set(data), key=data.index)) or "-"
            counts[(name, dtype)] += 1
    return [
        {"op": op, "dtype": dtype, "count": n}
        for (op, dtype), n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    ]


def _dtype_name(tensor_type) -> str:
    """A TFLite tensor type as numpy names it (`float32`, `int8`, `bytes_` for strings)."""
    from ai_edge_litert import schema_py_generated as schema

    names = {v: k.lower() for k, v in vars(schema.TensorType).items() if not k.startswith("_")}
    return {"string": "bytes_"}.get(names[tensor_type], names[tensor_type])


def has_custom_ops(model_content: bytes) -> bool:
    from ai_edge_litert import schema_py_generated as schema

    model = schema.Model.GetRootAs(model_content, 0)
    return any(
        model.OperatorCodes(i).CustomCode() is not None for i in range(model.OperatorCodesLength())
    )


def float_compute_ops(histogram: list[dict]) -> list[str]:
    """Names of ops computing in float (not counting layout ops and the quantize boundary)."""
    skip = _LAYOUT_OPS | {"QUANTIZE", "DEQUANTIZE", "CAST"}
    return sorted(
        {row["op"] for row in histogram if row["dtype"] == "float32" and row["op"] not in skip}
    )


def compare_outputs(keras_outputs: dict, tflite_outputs: dict, mask=None) -> dict:
    """Max abs diff per output and argmax agreement over the last axis (a top-1 check).

    `mask` (batch, sequence), e.g. the padding mask: per-token outputs are compared on the
    positions where it is 1 only, since what a model writes at padding is never used.

    `flip_margins`: for every position whose argmax differs, the Keras model's own margin
    (top-1 minus top-2 logit), smallest first — near-ties flip first under quantization noise;
    `median_margin` gives the scale.
    """
    report = {"max_abs_diff": {}, "argmax_agreement": {}, "flip_margins": {}, "median_margin": {}}
    for name, expected in keras_outputs.items():
        actual = np.asarray(tflite_outputs[name], np.float32)
        expected = np.asarray(expected, np.float32)
        if actual.shape != expected.shape:
            raise ParityError(
                f"output {name!r}: TFLite shape {actual.shape} != Keras shape {expected.shape}"
            )
        if mask is not None and expected.ndim == np.ndim(mask) + 1:
            keep = np.asarray(mask) == 1
            actual, expected = actual[keep], expected[keep]
        report["max_abs_diff"][name] = float(np.max(np.abs(actual - expected)))
        agree = actual.argmax(-1) == expected.argmax(-1)
        report["argmax_agreement"][name] = float(np.mean(agree))
        margins = _top2_margin(expected)
        report["flip_margins"][name] = sorted(float(m) for m in margins[~agree])
        report["median_margin"][name] = float(np.median(margins))
    return report


def _top2_margin(logits):
    top2 = np.sort(logits, axis=-1)[..., -2:]
    return top2[..., 1] - top2[..., 0]


def tolerance(mode: str, min_agreement=None, max_abs_diff=None) -> tuple:
    """(min agreement, max abs diff): the mode's defaults where an argument is None."""
    default_agreement, default_diff = DEFAULT_TOLERANCES[mode]
    return (
        default_agreement if min_agreement is None else min_agreement,
        default_diff if max_abs_diff is None else max_abs_diff,
    )


def parity(
    keras_outputs: dict, tflite_outputs: dict, mask, tolerance: tuple, lengths=None
) -> tuple:
    """(parity numbers for a report, ParityError or None): `compare_outputs` on `mask`'s
    real tokens, the example count, the tolerance and whether it was met. `lengths` (a
    length-bucketed export's): the numbers per bucket too, under `by_bucket`."""
    numbers = compare_outputs(keras_outputs, tflite_outputs, mask)
    numbers["examples"] = int(next(iter(keras_outputs.values())).shape[0])
    numbers["min_agreement"], numbers["max_abs_diff_allowed"] = tolerance
    if lengths is not None and len(lengths) > 1:
        numbers["by_bucket"] = _by_bucket(keras_outputs, tflite_outputs, np.asarray(mask), lengths)
    try:
        check_parity(numbers, *tolerance)
    except ParityError as e:
        return {**numbers, "passed": False}, e
    return {**numbers, "passed": True}, None


def _by_bucket(keras_outputs, tflite_outputs, mask, lengths) -> dict:
    """{length: examples, agreement and max abs diff of the inputs that ran at it}."""
    real_tokens = mask.sum(axis=1)
    bucket = np.asarray(lengths)[np.searchsorted(lengths, real_tokens)]
    numbers = {}
    for length in lengths:
        rows = bucket == length
        if rows.any():
            subset = compare_outputs(
                {name: np.asarray(value)[rows] for name, value in keras_outputs.items()},
                {name: np.asarray(value)[rows] for name, value in tflite_outputs.items()},
                mask[rows],
            )
            numbers[str(length)] = {
                "examples": int(rows.sum()),
                "argmax_agreement": subset["argmax_agreement"],
                "max_abs_diff": subset["max_abs_diff"],
            }
    return numbers


def check_parity(report: dict, min_agreement: float, max_abs_diff: float | None) -> None:
    """Raise ParityError with the numbers when agreement or the abs diff is out of tolerance."""
    problems = []
    for name, agreement in report["argmax_agreement"].items():
        if agreement < min_agreement:
            problems.append(f"{name}: argmax agreement {agreement:.4f} < {min_agreement}")
    if max_abs_diff is not None:
        for name, diff in report["max_abs_diff"].items():
            if not np.isfinite(diff) or diff > max_abs_diff:
                problems.append(f"{name}: max abs diff {diff:.4g} > {max_abs_diff}")
    if problems:
        raise ParityError("parity check failed: " + "; ".join(problems))
