"""Exports a Keras user would try before ours, built the way their documentation shows.

Each builder returns .tflite bytes or raises; `attempt` turns a failure into a recorded
outcome (the error's first line and reason), since "this path does not convert" is a result too.

- `keras_litert`: Keras 3's own `model.export(path, format="litert")` of the float model.
- `keras_quantized_litert`: Keras 3's `model.quantize("int8" | "int4")` on a copy of the model,
  then the same `export(format="litert")`.
- `edge_quantizer`: ai-edge-quantizer (LiteRT's quantizer) recipes applied to a float .tflite
  (`dynamic_wi8_afp32`, `dynamic_wi4_afp32`, `static_wi8_ai8`; the static one calibrates on
  the given inputs).
"""

import os
import tempfile

EDGE_QUANTIZER_RECIPES = ("dynamic_wi8_afp32", "dynamic_wi4_afp32", "static_wi8_ai8")


def attempt(build):
    """(bytes, None) if `build()` succeeds, else (None, the error's first line and, for
    converter errors, the reason after their last "error: ")."""
    try:
        return build(), None
    except Exception as error:  # a peer path failing is the measurement
        lines = str(error).strip().splitlines() or [""]
        # Converter errors put the location first and the reason after the last "error: ".
        reason = next((line for line in reversed(lines) if "error: " in line), "")
        reason = reason[reason.rfind("error: ") :][:300] if reason else ""
        return None, f"{type(error).__name__}: {lines[0][:300]}" + (
            f" … {reason}" if reason else ""
        )


def keras_litert(model, input_signature) -> bytes:
    """`model.export(format="litert")` with a batch-1 fixed-length signature."""
    with tempfile.TemporaryDirectory(prefix="keras_litert_") as tmp:
        path = os.path.join(tmp, "model.tflite")
        model.export(path, format="litert", input_signature=[input_signature], verbose=False)
        with open(path, "rb") as file:
            return file.read()


def keras_quantized_litert(model, mode, input_signature) -> bytes:
    """`quantize(mode)` on a copy of `model` (weights included), then `keras_litert`."""
    import keras

    copy = keras.models.clone_model(model)
    copy.set_weights(model.get_weights())
    copy.quantize(mode)
    return keras_litert(copy, input_signature)


def edge_quantizer(float_content: bytes, recipe_name: str, calibration_inputs=None) -> bytes:
    """ai-edge-quantizer's `recipe_name` applied to a float .tflite; static recipes calibrate
    on `calibration_inputs` (batch-1 dicts keyed by the signature's input names)."""
    from ai_edge_quantizer import quantizer, recipe

    engine = quantizer.Quantizer(float_content, getattr(recipe, recipe_name)())
    calibration = None
    if engine.need_calibration:
        if calibration_inputs is None:
            raise ValueError(f"{recipe_name} needs calibration inputs")
        calibration = engine.calibrate(
            {"serving_default": list(calibration_inputs)}, num_threads=os.cpu_count() or 1
        )
    result = engine.quantize(calibration, enable_progress_bar=False, enable_progress_report=False)
    return bytes(result.quantized_model)
