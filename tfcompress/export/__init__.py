"""TFLite export: conversion modes, parity verification, op reports, in-graph tokenizer.

Kept free of TensorFlow imports so the CLI can list the modes without loading TensorFlow.
"""

EXPORT_MODES = ("float", "float16", "dynamic", "int8", "int16x8", "qat")
# A split strings-in model's tokenizer signature (`text_model.split_tokenizer`), run before
# the encoder's; here so that latency tools can name it without importing TensorFlow.
TOKENIZE_SIGNATURE = "tokenize"
# The modes whose activation ranges come from representative (calibration) data.
CALIBRATED_MODES = ("int8", "int16x8", "qat")

# int8 activation ranges ignore the 1% most extreme calibration examples (calibration.py).
DEFAULT_RANGE_QUANTILE = 0.99


def check_range_quantile(quantile):
    """The quantile, or ValueError naming the valid interval (shared by the CLI and convert)."""
    if quantile is not None and not 0.5 < quantile <= 1.0:
        raise ValueError(
            f"range quantile {quantile} is outside (0.5, 1]; 0.99 ignores the 1% most extreme "
            "calibration examples, 1 keeps all of them"
        )
    return quantile
