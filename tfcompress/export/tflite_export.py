"""`export_tflite`: convert a Keras task model, verify it against Keras, write it atomically."""

from pathlib import Path

import numpy as np

from tfcompress.atomic_write import write_bytes_atomic, write_json_atomic
from tfcompress.errors import ConfigError
from tfcompress.export import DEFAULT_RANGE_QUANTILE, EXPORT_MODES
from tfcompress.export.converter import input_signature
from tfcompress.export.length_buckets import bucket_lengths, convert_ids_model
from tfcompress.export.low_bit_storage import store_low_bit_weights
from tfcompress.export.tflite_model_runner import TFLiteModelRunner
from tfcompress.export.verification import (
    DEFAULT_TOLERANCES,
    ParityError,
    float_compute_ops,
    op_histogram,
    parity,
    tolerance,
)


def export_tflite(
    model,
    output_path,
    mode="int8",
    *,
    sequence_length=None,
    representative_inputs=None,
    verify_inputs=None,
    min_agreement=None,
    max_abs_diff=None,
    float_ops=None,
    equalize=True,
    range_quantile=DEFAULT_RANGE_QUANTILE,
    buckets=None,
    weight_bits=None,
    extra_report=None,
) -> dict:
    """Convert `model` to `output_path` (.tflite) plus `<output_path stem>.json` (the report).

    `representative_inputs` / `verify_inputs`: iterables of batched input dicts (token_ids,
    segment_ids, padding_mask). The report holds the file size, an op histogram with the
    dtype each op computes in, the float ops, and the parity numbers against Keras. Both
    files are written atomically and before the parity verdict, so a failed export can be
    inspected; a failed parity check then raises ParityError with the numbers.
    `equalize` / `range_quantile`: int8 calibration passes (see `converter.convert`).
    `buckets`: shorter sequence lengths to hold beside `sequence_length`; each input runs
    at the shortest that fits it (`length_buckets`).
    `weight_bits` (2 or 4): store the FULLY_CONNECTED weights whose int8 codes fit that width
    packed (`low_bit_storage`; a `qat` export of a low-bit LSQ run); the report's
    `weight_storage` says how many, and parity is checked on the packed file.
    """
    output_path = Path(output_path)
    calibration = {}
    specs = input_signature(model, sequence_length)
    length = int(next(iter(specs.values())).shape[1])
    lengths = bucket_lengths(length, buckets) if buckets else (length,)
    options = dict(equalize=equalize, range_quantile=range_quantile, calibration_log=calibration)
    content = convert_ids_model(model, mode, lengths, representative_inputs, float_ops, **options)
    content, storage = pack_weights(content, weight_bits)
    report = export_report(
        content,
        mode,
        output_path,
        sequence_length=length,
        buckets=list(lengths),
        inputs=sorted(specs),
        calibration=calibration,
        weight_storage=storage,
        extra_report=extra_report,
    )
    failure = None
    if verify_inputs is not None:
        limits = tolerance(mode, min_agreement, max_abs_diff)
        report["parity"], failure = _verify(model, content, verify_inputs, limits, lengths)
    write_export(output_path, content, report, failure)
    return report


def export_report(
    content,
    mode,
    output_path,
    *,
    calibration=None,
    weight_storage=None,
    extra_report=None,
    **fields,
):
    """The report every export writes: size, op histogram, float ops, calibration, packed
    weights if any (`pack_weights`); parity None until verified. `fields` (sequence_length,
    inputs, ...) go between."""
    histogram = op_histogram(content)
    return {
        "mode": mode,
        "tflite_path": str(output_path),
        "size_bytes": len(content),
        **fields,
        "float_ops": float_compute_ops(histogram),
        "ops": histogram,
        "calibration": calibration or None,
        **({"weight_storage": weight_storage} if weight_storage else {}),
        "parity": None,
        **(extra_report or {}),
    }


def pack_weights(content, weight_bits):
    """(`content`, None) without `weight_bits`; else `content` with its low-bit kernels stored
    packed and the record of what was packed (`low_bit_storage`). ConfigError when no kernel
    fits `weight_bits`."""
    if not weight_bits:
        return content, None
    try:
        return store_low_bit_weights(content, weight_bits)
    except ValueError as error:
        raise ConfigError(str(error)) from None


def write_export(output_path, content, report, failure=None):
    """Write the .tflite and its report atomically, then raise `failure` (a failed parity
    check) if any: the files stay for inspection. Results other tools wrote about the file
    it replaces are removed and listed in the report's `removed_stale`."""
    write_bytes_atomic(output_path, content)
    report["removed_stale"] = remove_stale_results(output_path)
    write_json_atomic(report_path(output_path), report)
    if failure is not None:
        raise failure


# Written beside an export by the latency harness and `export --profile`, about that file.
STALE_SUFFIXES = (".latency.json", ".profile.md")


def remove_stale_results(tflite_path) -> list[str]:
    """Deletes the results beside `tflite_path` that measured an earlier file there."""
    removed = []
    for suffix in STALE_SUFFIXES:
        path = Path(tflite_path).with_suffix(suffix)
        if path.is_file():
            path.unlink()
            removed.append(str(path))
    return removed


def report_path(tflite_path) -> Path:
    return Path(tflite_path).with_suffix(".json")


def _verify(model, content, verify_inputs, limits, lengths=None):
    runner = TFLiteModelRunner(content)
    keras_parts, tflite_parts, masks = [], [], []
    for batch in verify_inputs:
        inputs = {name: np.asarray(batch[name], np.int32) for name in runner.input_names}
        keras_parts.append(_as_dict(model(inputs, training=False)))
        tflite_parts.append(_as_dict(runner(inputs)))
        masks.append(inputs.get("padding_mask"))
    keras_out, tflite_out = _concat(keras_parts), _concat(tflite_parts)
    if set(keras_out) != set(tflite_out):
        if len(keras_out) == len(tflite_out) == 1:
            tflite_out = {next(iter(keras_out)): next(iter(tflite_out.values()))}
        else:
            raise ParityError(
                f"TFLite outputs {sorted(tflite_out)} do not match Keras outputs {sorted(keras_out)}"
            )
    mask = None if masks[0] is None else np.concatenate(masks)
    return parity(keras_out, tflite_out, mask, limits, lengths)


def _as_dict(outputs):
    if isinstance(outputs, dict):
        return {k: np.asarray(v) for k, v in outputs.items()}
    return {"logits": np.asarray(outputs)}


def _concat(parts):
    return {name: np.concatenate([p[name] for p in parts]) for name in parts[0]}


__all__ = [
    "EXPORT_MODES",
    "export_tflite",
    "export_report",
    "pack_weights",
    "write_export",
    "report_path",
    "DEFAULT_TOLERANCES",
]
