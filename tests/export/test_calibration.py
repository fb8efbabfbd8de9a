import numpy as np
import pytest
from ai_edge_litert.tools import flatbuffer_utils

from tests.export.conftest import build_tiny_classifier, train_briefly
from tfcompress.errors import ConfigError
from tfcompress.export import DEFAULT_RANGE_QUANTILE
from tfcompress.export.calibration import equalize_fc_outputs, robust_activation_ranges
from tfcompress.export.converter import FLOAT_ISLAND_OPS, convert, input_signature
from tfcompress.export.tflite_model_runner import TFLiteModelRunner, inspecting_interpreter
from tfcompress.export.verification import op_histogram

OUTLIER_CHANNEL = 5


def _with_outlier_channel(model, factor=100.0):
    """Widen one output channel of every FFN output projection, as trained BERTs have."""
    from tfcompress.models import Encoder

    (encoder,) = [layer for layer in model.layers if isinstance(layer, Encoder)]
    for block in encoder.blocks:
        dense = block.output_dense
        kernel = dense.kernel.numpy()
        kernel[:, OUTLIER_CHANNEL] *= factor
        dense.kernel.assign(kernel)
    return model


@pytest.fixture(scope="module")
def outlier_model():
    return _with_outlier_channel(train_briefly(build_tiny_classifier()))


@pytest.fixture(scope="module")
def shared_outlier_model():
    plan = {"num_layers": 1, "layer_plan": [(0, False), (0, True)]}
    return _with_outlier_channel(train_briefly(build_tiny_classifier(plan)))


def _calibrated(model, calibration):
    """The calibrate-only flatbuffer `convert` hands to the passes, and its data generator."""
    import tensorflow as tf

    from tfcompress.export.converter import _representative_dataset, _saved_model

    specs = input_signature(model)
    representative = _representative_dataset(calibration, specs)
    with _saved_model(model, specs) as path:
        converter = tf.lite.TFLiteConverter.from_saved_model(path)
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.representative_dataset = representative
        converter.experimental_mlir_quantizer = True
        converter._experimental_calibrate_only = True
        return converter.convert(), representative


def _logits(content, batches):
    runner = TFLiteModelRunner(content)
    return np.concatenate([np.asarray(runner(batch)) for batch in batches])


def _op_count(content, name):
    return sum(row["count"] for row in op_histogram(content) if row["op"] == name)


def test_equalization_keeps_the_float_function(outlier_model, export_data):
    calibration, verification = export_data
    calibrated, representative = _calibrated(outlier_model, calibration)
    equalized, records = equalize_fc_outputs(calibrated, representative, FLOAT_ISLAND_OPS)
    assert [len(r["outputs"]) for r in records] == [1, 1]  # one FFN output per block
    for record in records:
        assert record["widest_range_after"] < record["widest_range"] / 4
    assert _op_count(equalized, "MUL") == _op_count(calibrated, "MUL") + 2
    before, after = _logits(calibrated, verification), _logits(equalized, verification)
    np.testing.assert_allclose(after, before, atol=1e-4 * np.abs(before).max())


def test_weight_shared_layers_get_one_scale(shared_outlier_model, export_data):
    calibration, verification = export_data
    calibrated, representative = _calibrated(shared_outlier_model, calibration)
    equalized, records = equalize_fc_outputs(calibrated, representative, FLOAT_ISLAND_OPS)
    # Both runs of the shared block are rescaled; its weights are divided once.
    assert [len(r["outputs"]) for r in records] == [2]
    before, after = _logits(calibrated, verification), _logits(equalized, verification)
    np.testing.assert_allclose(after, before, atol=1e-4 * np.abs(before).max())


def test_equalization_skips_fcs_that_feed_integer_ops(outlier_model, export_data):
    calibrated, representative = _calibrated(outlier_model, export_data[0])
    unchanged, records = equalize_fc_outputs(calibrated, representative, ("SOFTMAX",))
    assert records == [] and unchanged == calibrated


def _ffn_output_scales(content):
    """int8 scale of the tensor each FFN output projection writes."""
    model = flatbuffer_utils.convert_bytearray_to_object(content)
    subgraph = model.subgraphs[0]
    scales = []
    for op in subgraph.operators:
        output = subgraph.tensors[op.outputs[0]]
        is_fc = flatbuffer_utils.opcode_to_name(model, op.opcodeIndex) == "FULLY_CONNECTED"
        if is_fc and b"/output_1/" in output.name.split(b";")[-1]:
            scales.append(float(output.quantization.scale[0]))
    return scales


def test_equalization_narrows_the_int8_ffn_output(outlier_model, export_data):
    calibration, _ = export_data
    scales = {
        equalize: _ffn_output_scales(
            convert(
                outlier_model,
                "int8",
                representative_inputs=calibration,
                equalize=equalize,
                range_quantile=1.0,
            )
        )
        for equalize in (False, True)
    }
    assert len(scales[True]) == len(scales[False]) == 2
    for narrow, wide in zip(scales[True], scales[False]):
        assert narrow < wide / 4


def _ranges(content):
    subgraph = flatbuffer_utils.convert_bytearray_to_object(content).subgraphs[0]
    return {
        tensor.name: (tensor.quantization.min[0], tensor.quantization.max[0])
        for tensor in subgraph.tensors
        if tensor.quantization is not None and tensor.quantization.min is not None
    }, {subgraph.tensors[i].name for i in subgraph.outputs}


def _per_example_extremes(content, representative):
    """{tensor name: ([min per example], [max per example])} of every readable tensor."""
    interpreter = inspecting_interpreter(content)
    runner = interpreter.get_signature_runner()
    seen = {}
    for inputs in representative():
        runner(**inputs)
        for detail in interpreter.get_tensor_details():
            value = interpreter.get_tensor(detail["index"])
            lows, highs = seen.setdefault(detail["name"], ([], []))
            lows.append(value.min())
            highs.append(value.max())
    return seen


@pytest.mark.parametrize("quantile", [1.0, 0.9])
def test_ranges_are_the_quantile_of_per_example_extremes(tiny_classifier, export_data, quantile):
    # The calibrator's own ranges are not always the tensor's values (an FC output carries the
    # range of the residual sum after it); the pass records what each tensor really holds.
    calibrated, representative = _calibrated(tiny_classifier, export_data[0])
    stock, outputs = _ranges(calibrated)
    robust, _ = _ranges(robust_activation_ranges(calibrated, representative, quantile))
    extremes = _per_example_extremes(calibrated, representative)
    assert robust.keys() == stock.keys()
    for name in set(robust) - outputs:
        lows, highs = extremes[name.decode()]
        want = (min(np.quantile(lows, 1 - quantile), 0.0), max(np.quantile(highs, quantile), 0.0))
        assert robust[name] == pytest.approx(want, rel=1e-6, abs=1e-9), name


def test_the_default_range_is_the_99th_percentile():
    from tfcompress.cli import build_parser

    assert DEFAULT_RANGE_QUANTILE == 0.99  # README: "the 0.99 quantile"
    args = build_parser().parse_args(["export", "RUN"])
    assert args.range_quantile == DEFAULT_RANGE_QUANTILE


def test_lower_quantile_narrows_ranges_but_not_outputs(tiny_classifier, export_data):
    calibrated, representative = _calibrated(tiny_classifier, export_data[0])
    stock, outputs = _ranges(calibrated)
    robust, _ = _ranges(robust_activation_ranges(calibrated, representative, 0.6))
    narrower = [
        n for n in stock if robust[n][1] - robust[n][0] < 0.99 * (stock[n][1] - stock[n][0])
    ]
    assert len(narrower) > len(stock) // 2
    assert all(robust[n][0] >= min(stock[n][0], 0.0) - 1e-6 for n in stock)
    assert all(robust[n][1] <= max(stock[n][1], 0.0) + 1e-6 for n in stock)
    for name in outputs:
        assert robust[name] == stock[name]


@pytest.mark.parametrize("quantile", [0.2, 1.5])
def test_convert_rejects_a_range_quantile_outside_its_interval(tiny_classifier, quantile):
    with pytest.raises(ConfigError, match=r"range quantile .* outside \(0\.5, 1\]"):
        convert(tiny_classifier, "int8", representative_inputs=[], range_quantile=quantile)


def _int8_fc_weights(content):
    """Dequantized int8 weights (out, in) of every FC."""
    model = flatbuffer_utils.convert_bytearray_to_object(content)
    subgraph = model.subgraphs[0]
    found = []
    for op in subgraph.operators:
        if flatbuffer_utils.opcode_to_name(model, op.opcodeIndex) != "FULLY_CONNECTED":
            continue
        weights = subgraph.tensors[op.inputs[1]]
        codes = np.asarray(model.buffers[weights.buffer].data, np.uint8).view(np.int8)
        codes = codes.reshape(weights.shape).astype(np.float64)
        found.append(codes * np.asarray(weights.quantization.scale)[:, None])
    return found


@pytest.mark.parametrize(
    "bits, plan",
    [(4, None), (8, None), (8, {"num_layers": 1, "layer_plan": [(0, False), (0, True)]})],
)
def test_qat_export_keeps_the_trained_weight_grid(bits, plan, export_data):
    from tfcompress.layers import UniformQuantizer
    from tfcompress.models import Encoder

    clip = 0.25
    quantizer = UniformQuantizer(bits, clip)
    model = train_briefly(build_tiny_classifier(plan, weight_quantizer=quantizer))
    log = {}
    content = convert(model, "qat", representative_inputs=export_data[0], calibration_log=log)
    # Attention-output and FFN-output weights of each block; the converter folds LayerNorm's
    # gamma into the FCs after it, which takes their weights off the grid before we see them.
    (encoder,) = [layer for layer in model.layers if isinstance(layer, Encoder)]
    assert len(log["trained_weight_grids"]) == 2 * len(encoder.blocks)
    _, verification = export_data
    keras_logits = np.concatenate([np.asarray(model(b)) for b in verification])
    agreement = _logits(content, verification).argmax(-1) == keras_logits.argmax(-1)
    assert agreement.mean() >= 0.95
    step = clip / (2 ** (bits - 1) - 1)
    for index, block in enumerate(encoder.blocks):
        kernel = block.output_dense.kernel.numpy()
        trained = np.clip(np.round(kernel / step), -(clip / step), clip / step) * step
        exact = [
            w
            for w in _int8_fc_weights(content)
            if w.shape == trained.T.shape and np.allclose(w, trained.T, rtol=0, atol=1e-7)
        ]
        assert exact, f"block {index}: no FC holds the trained FFN output weights exactly"
