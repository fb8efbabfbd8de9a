"""Packed low-bit weights: INT4 / INT2 filters that LiteRT runs to the same outputs."""

import numpy as np
import pytest
from tensorflow.lite.tools import flatbuffer_utils

from tests.export.conftest import trained_lsq_model
from tfcompress.export.converter import convert
from tfcompress.export.low_bit_storage import store_low_bit_weights
from tfcompress.export.tflite_model_runner import TFLiteModelRunner

INT8, INT4, INT2 = 9, 17, 19  # schema TensorType values


def _filters(content):
    """[(tensor type, raw bytes, element count)] of every FULLY_CONNECTED filter with data."""
    model = flatbuffer_utils.convert_bytearray_to_object(bytearray(content))
    graph = model.subgraphs[0]
    found = []
    for op in graph.operators:
        if flatbuffer_utils.opcode_to_name(model, op.opcodeIndex) != "FULLY_CONNECTED":
            continue
        tensor = graph.tensors[op.inputs[1]]
        data = model.buffers[tensor.buffer].data
        if data is not None and len(data):
            raw = np.asarray(data, np.uint8)
            found.append((tensor.type, raw, int(np.prod(tensor.shape))))
    return found


def _unpacked(raw, count, width):
    """Signed `width`-bit values, lowest bits of each byte first (written independently of the
    packer: bit arithmetic per element)."""
    per_byte = 8 // width
    values = [(int(raw[i // per_byte]) >> (width * (i % per_byte))) & ((1 << width) - 1)
              for i in range(count)]
    return np.array([v - (1 << width) if v >= 1 << (width - 1) else v for v in values], np.int8)


def _outputs(content, batches):
    runner = TFLiteModelRunner(content)
    return np.concatenate([np.asarray(runner(batch)) for batch in batches])


@pytest.fixture(scope="module")
def two_bit_export(export_data):
    calibration, _ = export_data
    return convert(trained_lsq_model("2-2-8"), "qat", representative_inputs=calibration)


@pytest.mark.parametrize("bits, packed_type", [(4, INT4), (2, INT2)])
def test_packed_filters_hold_the_int8_codes_and_compute_the_same(
    two_bit_export, export_data, bits, packed_type
):
    packed, summary = store_low_bit_weights(two_bit_export, bits)
    before, after = _filters(two_bit_export), _filters(packed)
    assert len(before) == len(after) > 0
    for (type_before, codes, count), (type_after, raw, _) in zip(before, after, strict=True):
        if type_before != INT8:  # the pooler and the head stay float, as trained
            assert type_after == type_before
            continue
        assert type_after == packed_type
        assert raw.size == -(-count * bits // 8)
        assert np.array_equal(_unpacked(raw, count, bits), codes.view(np.int8)[:count])
    int8_filters = sum(t == INT8 for t, _, _ in before)
    assert summary[f"int{bits}_buffers"] == int8_filters
    assert summary["bytes_saved"] == len(two_bit_export) - len(packed) > 0
    # The FULLY_CONNECTED version TFLite gives int4 filters, so older runtimes refuse it.
    model = flatbuffer_utils.convert_bytearray_to_object(bytearray(packed))
    versions = {c.version for c in model.operatorCodes if c.builtinCode == 9}
    assert versions and min(versions) >= 10
    _, verification = export_data
    assert np.array_equal(_outputs(packed, verification), _outputs(two_bit_export, verification))


def test_codes_wider_than_the_bits_are_refused(export_data):
    calibration, _ = export_data
    four_bit = convert(trained_lsq_model("4-8-8"), "qat", representative_inputs=calibration)
    with pytest.raises(ValueError, match="fits 2 bits"):
        store_low_bit_weights(four_bit, 2)
    packed, summary = store_low_bit_weights(four_bit, 4)
    assert summary["int4_buffers"] > 0 and summary["int2_buffers"] == 0
    with pytest.raises(ValueError, match="2 or 4 bits"):
        store_low_bit_weights(four_bit, 8)


def test_a_strings_in_export_stores_its_kernels_packed(trained_classifier, tokenizer, tmp_path):
    from tests.export.test_text_model import CALIBRATION_TEXTS, VERIFY_TEXTS, ids
    from tfcompress.export.text_model import export_text_model
    from tfcompress.models.quantized_copy import (
        QuantizationScheme,
        StepInitialization,
        initialize_steps,
        quantized_copy,
    )

    model = quantized_copy(trained_classifier, QuantizationScheme.parse("4-8-8"))
    initialize_steps(model, ids(tokenizer, CALIBRATION_TEXTS[:32]), StepInitialization())
    report = export_text_model(
        model,
        tokenizer,
        tmp_path / "qat_text_w4.tflite",
        "qat",
        representative_texts=CALIBRATION_TEXTS,
        verify_texts=VERIFY_TEXTS,
        weight_bits=4,
    )
    assert report["weight_storage"]["int4_buffers"] == report["tensor_types"]["INT4"] > 0
    assert report["parity"]["passed"]
