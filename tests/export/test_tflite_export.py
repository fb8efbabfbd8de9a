import json

import pytest

from tfcompress.errors import ConfigError
from tfcompress.export import EXPORT_MODES
from tfcompress.export.tflite_export import export_tflite, report_path
from tfcompress.export.verification import ParityError


def _export(model, path, mode, data, **kwargs):
    calibration, verification = data
    return export_tflite(
        model, path, mode, representative_inputs=calibration, verify_inputs=verification, **kwargs
    )


def _dtypes(report, op):
    return {row["dtype"] for row in report["ops"] if row["op"] == op}


@pytest.mark.parametrize("mode", EXPORT_MODES)
def test_every_mode_converts_and_passes_parity(mode, tiny_classifier, export_data, tmp_path):
    path = tmp_path / f"{mode}.tflite"
    report = _export(tiny_classifier, path, mode, export_data)
    assert report["parity"]["passed"]
    assert report["parity"]["examples"] == 64
    assert report["size_bytes"] == path.stat().st_size > 0
    assert json.loads(report_path(path).read_text())["mode"] == mode
    assert report["sequence_length"] == 16


def test_op_report_names_the_dtype_each_mode_computes_in(tiny_classifier, export_data, tmp_path):
    reports = {
        mode: _export(tiny_classifier, tmp_path / f"{mode}.tflite", mode, export_data)
        for mode in ("float", "dynamic", "int8", "int16x8")
    }
    assert _dtypes(reports["float"], "FULLY_CONNECTED") == {"float32"}
    # Dynamic-range leaves tiny weights (the 2-class head) in float.
    assert "float32+int8" in _dtypes(reports["dynamic"], "FULLY_CONNECTED")
    assert _dtypes(reports["int8"], "FULLY_CONNECTED") == {"int8"}
    assert _dtypes(reports["int16x8"], "FULLY_CONNECTED") == {"int16+int8"}
    # int8 keeps attention matmuls, softmax, LayerNorm and GELU in float islands, and says so.
    # (LayerNorm lowers to MEAN / RSQRT with elementwise ops; the encoder's GELU is exact.)
    islands = {"BATCH_MATMUL", "SOFTMAX", "MEAN", "RSQRT", "GELU"}
    assert islands <= set(reports["int8"]["float_ops"])
    assert "FULLY_CONNECTED" not in reports["int8"]["float_ops"]
    assert reports["int16x8"]["float_ops"] == []
    assert reports["int8"]["size_bytes"] < 0.7 * reports["float"]["size_bytes"]


def test_float_ops_option_makes_every_op_integer(tiny_classifier, export_data, tmp_path):
    # No parity check: all-int8 attention and LayerNorm lose the top-1 on this model (the
    # padding bias and the scores share one int8 range), which is why int8 keeps islands.
    calibration, _ = export_data
    report = export_tflite(
        tiny_classifier,
        tmp_path / "m.tflite",
        "int8",
        representative_inputs=calibration,
        float_ops=(),
    )
    assert report["float_ops"] == []
    assert _dtypes(report, "BATCH_MATMUL") == {"int8"}


def test_qat_export_of_a_fake_quant_model_is_integer_and_matches(export_data, tmp_path):
    from tests.export.conftest import build_tiny_classifier, train_briefly
    from tfcompress.layers import UniformQuantizer

    model = train_briefly(build_tiny_classifier(weight_quantizer=UniformQuantizer(8, 0.25)))
    report = _export(model, tmp_path / "qat.tflite", "qat", export_data)
    assert report["parity"]["passed"]
    assert _dtypes(report, "FULLY_CONNECTED") == {"int8"}
    # The fake-quant ops are folded away, not left as float compute in the graph.
    assert "FAKE_QUANT" not in {row["op"] for row in report["ops"]}


def test_failed_parity_raises_with_numbers_and_keeps_the_files(
    tiny_classifier, export_data, tmp_path
):
    path = tmp_path / "int8.tflite"
    with pytest.raises(ParityError, match=r"argmax agreement 1\.0000 < 1\.5"):
        _export(tiny_classifier, path, "int8", export_data, min_agreement=1.5)
    report = json.loads(report_path(path).read_text())
    assert report["parity"]["passed"] is False
    assert path.stat().st_size == report["size_bytes"]


def test_float_export_fails_on_a_logit_tolerance_it_cannot_meet(
    tiny_classifier, export_data, tmp_path
):
    with pytest.raises(ParityError, match="max abs diff"):
        _export(tiny_classifier, tmp_path / "f.tflite", "dynamic", export_data, max_abs_diff=0.0)


def test_integer_modes_need_representative_data(tiny_classifier, tmp_path):
    with pytest.raises(ConfigError, match="representative data"):
        export_tflite(tiny_classifier, tmp_path / "m.tflite", "int8")
    assert not (tmp_path / "m.tflite").exists()


def test_unknown_mode_and_dynamic_length_are_config_errors(tmp_path, tiny_config):
    from tfcompress.models import Encoder, build_classifier

    dynamic = build_classifier(Encoder(tiny_config), 2)
    with pytest.raises(ConfigError, match="no fixed sequence length"):
        export_tflite(dynamic, tmp_path / "m.tflite", "float")
    with pytest.raises(ConfigError, match="unknown export mode"):
        export_tflite(dynamic, tmp_path / "m.tflite", "int4", sequence_length=8)
    report = export_tflite(dynamic, tmp_path / "m.tflite", "float", sequence_length=8)
    assert report["sequence_length"] == 8
