"""TFLite export: conversion modes, parity verification, op reports, in-graph tokenizer.

Kept free of TensorFlow imports so the CLI can list the modes without loading TensorFlow.
"""

EXPORT_MODES = ("float", "float16", "dynamic", "int8", "int16x8", "qat")

# int8 activation ranges ignore the 1% most extreme calibration examples (calibration.py).
DEFAULT_RANGE_QUANTILE = 0.99
