"""Keras model or `tf.Module` → `.tflite` bytes in one of the export modes.

Every mode goes through a SavedModel with a fixed-length input signature (batch 1 unless
asked otherwise): Keras 3 models converted with `from_concrete_functions` keep unfrozen
variables (NaN outputs), and a static signature leaves no shape arithmetic in the graph.
A `tf.Module` brings its own signature: a `serve` tf.function with an `input_signature`.
"""

import contextlib
import os
import tempfile

import tensorflow as tf

from tfcompress.errors import ConfigError
from tfcompress.export import (
    CALIBRATED_MODES,
    DEFAULT_RANGE_QUANTILE,
    EXPORT_MODES,
    calibration,
    check_range_quantile,
)

# Run in float between the int8 matmuls (measured in docs/results.md, "Where the time goes"):
# TFLite's int8 kernels for these are reference code outside XNNPACK (BATCH_MATMUL alone was
# 65% of a full-int8 encoder), while XNNPACK runs them in float for less than the
# quantize/dequantize pairs around them cost.
FLOAT_ISLAND_OPS = (
    "BATCH_MATMUL",
    "SOFTMAX",
    "MEAN",
    "SQUARED_DIFFERENCE",
    "RSQRT",
    "MUL",
    "ADD",
    "SUB",
    "GELU",
    "TANH",
)


def input_signature(model, sequence_length=None, batch_size=1):
    """`{name: TensorSpec([batch_size, S], int32)}` for the model's named inputs.

    A `tf.Module` (see `convert`): the specs of its `serve` signature, as they are.
    """
    if not _is_keras(model):
        specs = _serve(model).input_signature
        if not all(spec.name for spec in specs):
            raise ConfigError("every spec in the `serve` input_signature needs a name")
        return {spec.name: spec for spec in specs}
    specs = {}
    for tensor in model.inputs:
        name = tensor.name.split(":")[0]
        length = tensor.shape[1] if len(tensor.shape) > 1 else None
        if sequence_length is not None:
            length = sequence_length
        if length is None:
            raise ConfigError(
                f"input {name!r} has no fixed sequence length; pass sequence_length "
                "(export is batch 1 with a fixed length)"
            )
        specs[name] = tf.TensorSpec([batch_size, length], tf.int32, name=name)
    return specs


def known_weight_grids(model):
    """(codes (out, in), steps (out,)) of every LSQ kernel the model trained (none otherwise)."""
    from tfcompress.models.quantized_copy import lsq_weight_grids

    return lsq_weight_grids(model)


def _is_keras(model):
    import keras

    return isinstance(model, keras.Model)


def _serve(module):
    serve = getattr(module, "serve", None)
    if serve is None or not getattr(serve, "input_signature", None):
        raise ConfigError(
            f"{type(module).__name__} is neither a Keras model nor a tf.Module with a `serve` "
            "tf.function that has an input_signature"
        )
    return serve


def convert(
    model,
    mode,
    sequence_length=None,
    representative_inputs=None,
    float_ops=None,
    *,
    batch_size=1,
    equalize=True,
    range_quantile=DEFAULT_RANGE_QUANTILE,
    calibration_log=None,
    custom_ops=False,
    shared_scales=None,
):
    """Convert `model`; `representative_inputs` (an iterable of input dicts) for int modes.

    `model`: a Keras model (its named inputs, [batch_size, sequence_length] int32) or a
    `tf.Module` whose `serve` is a tf.function with an `input_signature` (named specs).
    `representative_inputs` yields batched dicts keyed by input name; they are fed one row
    at a time. int8 with float islands also runs the calibration passes of `calibration.py`:
    output channel equalization of FCs (`equalize`) and activation ranges at
    `range_quantile` of the per-example extremes (None: the calibrator's ranges); qat keeps
    trained weight grids. A `calibration_log` dict receives what these passes did;
    `shared_scales` (a dict) carries equalization scales from one conversion to the next
    (`calibration.equalize_fc_outputs`), so conversions at several lengths share int8 weights.
    `custom_ops` lets non-builtin ops (tensorflow-text's) through as custom ops; the
    calibration passes run the model with builtin kernels only, so those modes refuse it.
    """
    if mode not in EXPORT_MODES:
        raise ConfigError(f"unknown export mode {mode!r}; choose one of {', '.join(EXPORT_MODES)}")
    try:
        check_range_quantile(range_quantile)
    except ValueError as error:
        raise ConfigError(str(error)) from None
    needs_data = mode in CALIBRATED_MODES
    if needs_data and representative_inputs is None:
        raise ConfigError(f"mode {mode!r} needs representative data (a few dozen examples)")
    if custom_ops and needs_data:
        raise ConfigError(
            f"mode {mode!r} calibrates with builtin kernels only; convert the custom-op part "
            "in float and join it to the integer model (see export.text_model)"
        )
    specs = input_signature(model, sequence_length, batch_size)
    with _saved_model(model, specs) as path:
        converter = tf.lite.TFLiteConverter.from_saved_model(path)
        converter.allow_custom_ops = custom_ops
        representative = _representative_dataset(representative_inputs, specs)
        _configure(converter, mode, representative)
        if mode not in ("int8", "qat"):
            return converter.convert()
        islands = FLOAT_ISLAND_OPS if float_ops is None else tuple(float_ops)
        if not islands:  # all-int8: the stock converter path
            return converter.convert()
        log = calibration_log if calibration_log is not None else {}
        calibrated = _calibrate(converter)
        if mode == "int8":
            calibrated = _improve_calibration(
                calibrated, representative, islands, equalize, range_quantile, log, shared_scales
            )
            return _quantize(calibrated, islands)
        # qat: the ranges and weight grids its fake-quant ops learned stay as they are, and
        # what the model kept float (pooler, head, position and segment tables) stays float.
        log["float_trained_ops"] = calibration.float_trained_ops(calibrated)
        quantized = _quantize(calibrated, islands, log["float_trained_ops"])
        quantized, log["trained_weight_grids"] = calibration.keep_trained_weight_grids(
            quantized, calibrated
        )
        quantized, log["quantized_once"] = calibration.quantize_once(quantized)
        grids = known_weight_grids(model) if _is_keras(model) else []
        quantized, log["learned_step_grids"] = calibration.snap_to_known_grids(quantized, grids)
        return quantized


@contextlib.contextmanager
def _saved_model(model, specs):
    with tempfile.TemporaryDirectory(prefix="tfcompress_export_") as tmp:
        path = os.path.join(tmp, "saved_model")
        if _is_keras(model):
            model.export(path, format="tf_saved_model", input_signature=[specs], verbose=False)
        else:
            tf.saved_model.save(model, path, signatures={"serving_default": _serve(model)})
        yield path


def _configure(converter, mode, representative):
    if mode == "float":
        return
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    if mode == "float16":
        converter.target_spec.supported_types = [tf.float16]
    elif mode in ("int8", "qat"):
        converter.representative_dataset = representative
    elif mode == "int16x8":
        converter.representative_dataset = representative
        converter.target_spec.supported_ops = [
            tf.lite.OpsSet.EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_WEIGHTS_INT8,
            tf.lite.OpsSet.TFLITE_BUILTINS,
        ]


def _calibrate(converter):
    """The float model with calibrated ranges on its tensors (selective quantization, step 1).

    What TFLite's QuantizationDebugger does for `get_nondebug_quantized_model`, without its
    float reference conversion.
    """
    converter.experimental_mlir_quantizer = True
    converter._experimental_calibrate_only = True
    return converter.convert()


def _improve_calibration(
    calibrated, representative, float_ops, equalize, range_quantile, log, shared_scales=None
):
    log.update(equalize=equalize, range_quantile=range_quantile, equalized=[])
    if equalize:
        calibrated, log["equalized"] = calibration.equalize_fc_outputs(
            calibrated, representative, float_ops, shared_scales
        )
    if range_quantile is not None:
        calibrated = calibration.robust_activation_ranges(
            calibrated, representative, range_quantile
        )
    return calibrated


def _quantize(calibrated, float_ops, float_nodes=()):
    """int8 everywhere except `float_ops` and the ops named in `float_nodes` (selective
    quantization, step 2)."""
    from tensorflow.compiler.mlir.lite import types_pb2
    from tensorflow.lite.python import convert as tflite_convert

    return tflite_convert.mlir_quantize(
        calibrated,
        inference_type=types_pb2.QUANTIZED_INT8,
        denylisted_ops=list(float_ops),
        denylisted_nodes=list(float_nodes),
    )


def _representative_dataset(inputs, specs):
    if inputs is None:
        return None
    examples = list(_batch_one(inputs, specs))
    if not examples:
        raise ConfigError("representative data is empty; give at least one example")

    def generate():
        yield from examples

    return generate


def _batch_one(inputs, specs):
    """Split batched input dicts into batch-1 dicts keyed and typed like the signature."""
    import numpy as np

    for batch in inputs:
        arrays = {
            name: np.asarray(batch[name], spec.dtype.as_numpy_dtype) for name, spec in specs.items()
        }
        rows = next(iter(arrays.values())).shape[0]
        for i in range(rows):
            yield {name: value[i : i + 1] for name, value in arrays.items()}
