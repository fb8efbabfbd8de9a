"""`qat` export of LSQ models: the learned steps are the TFLite scales, the codes the trained ones."""

import keras
import numpy as np
import pytest
from tensorflow.lite.tools import flatbuffer_utils

from tests.export.conftest import trained_lsq_model
from tfcompress.export.converter import convert
from tfcompress.export.tflite_model_runner import TFLiteModelRunner
from tfcompress.models.quantized_copy import packed_size_bytes


def _int8_tensors(content, op_name, input_index):
    """[(codes, scales)] of the int8 input `input_index` of every `op_name` op."""
    model = flatbuffer_utils.convert_bytearray_to_object(content)
    subgraph = model.subgraphs[0]
    found = []
    for op in subgraph.operators:
        if flatbuffer_utils.opcode_to_name(model, op.opcodeIndex) != op_name:
            continue
        tensor = subgraph.tensors[op.inputs[input_index]]
        data = model.buffers[tensor.buffer].data
        if data is None or tensor.quantization is None or tensor.quantization.scale is None:
            continue
        codes = np.asarray(data, np.uint8).view(np.int8).reshape(tensor.shape)
        found.append((codes, np.asarray(tensor.quantization.scale, np.float64)))
    return found


def _requantized_quantizes(content):
    """QUANTIZE ops that read another QUANTIZE's output (a second rounding)."""
    model = flatbuffer_utils.convert_bytearray_to_object(content)
    subgraph = model.subgraphs[0]
    quantizes = [
        op
        for op in subgraph.operators
        if flatbuffer_utils.opcode_to_name(model, op.opcodeIndex) == "QUANTIZE"
    ]
    produced = {index for op in quantizes for index in op.outputs}
    return [op for op in quantizes if op.inputs[0] in produced]


def _fc_scales(content, side):
    """Scales of every int8 FC's input (`side` "inputs") or output ("outputs"); the number
    of FCs left in float."""
    model = flatbuffer_utils.convert_bytearray_to_object(content)
    subgraph = model.subgraphs[0]
    scales, float_fcs = [], 0
    for op in subgraph.operators:
        if flatbuffer_utils.opcode_to_name(model, op.opcodeIndex) != "FULLY_CONNECTED":
            continue
        quantization = subgraph.tensors[getattr(op, side)[0]].quantization
        if quantization is None or quantization.scale is None:
            float_fcs += 1
        else:
            scales.append(float(quantization.scale[0]))
    return scales, float_fcs


def _trained_codes(values, step, quantizer, weights):
    """The codes the Keras model computes with at inference (its FakeQuant path: a value
    within float error of a rounding tie may land on the other side than in training)."""
    qn, qp = quantizer.levels
    inferred = np.asarray(quantizer(values, False, weights))
    return np.clip(np.round(inferred / step), -qn, qp)


def _holds_exactly(found, codes, step):
    """Some tensor in `found` holds `codes` (out, in) with scale `step` for every channel."""
    return any(
        c.shape == codes.shape
        and np.array_equal(c, codes)
        and np.allclose(s, np.broadcast_to(step, s.shape), rtol=1e-6, atol=0)
        for c, s in found
    )


@pytest.mark.parametrize(
    "scheme, per_channel, plan",
    # 4-bit weights (4-8-8, per channel), low-bit tables (2-2-8) and 8 bits per tensor
    # between them cover what a per-tensor 4-4-8 case would (dropped to keep CI short).
    [
        ("8-8-8", False, None),
        ("4-8-8", True, None),
        ("2-2-8", False, {"num_layers": 1, "layer_plan": [(0, False), (0, True)]}),
    ],
)
def test_qat_export_holds_the_trained_codes_and_the_learned_steps(
    scheme, per_channel, plan, export_data
):
    model = trained_lsq_model(scheme, per_channel, plan)
    calibration, verification = export_data
    log = {}
    content = convert(model, "qat", representative_inputs=calibration, calibration_log=log)
    # Softmax outputs are quantized once, at the probability step the model learned.
    assert len(log["quantized_once"]) == len(model.encoder.executed_blocks)
    assert not _requantized_quantizes(content)
    encoder = model.encoder

    kernels = _int8_tensors(content, "FULLY_CONNECTED", 1)
    for block in encoder.blocks:  # SPS views own no kernels: one grid per shared tensor
        attention = block.attention
        for dense in (
            attention.query_dense,
            attention.key_dense,
            attention.value_dense,
            attention.output_dense,
            block.intermediate_dense,
            block.output_dense,
        ):
            step = np.abs(dense.kernel_quantizer_weights["step"].numpy())
            codes = _trained_codes(
                dense.kernel.numpy(), step, dense.kernel_quantizer, dense.kernel_quantizer_weights
            )
            assert _holds_exactly(kernels, codes.T, step), f"{dense.path}: codes or scale differ"

    embeddings = encoder.embeddings
    step = np.abs(embeddings.embedding_quantizer_weights["step"].numpy())
    table = _trained_codes(
        embeddings.word_embeddings.numpy(),
        step,
        embeddings.embedding_quantizer,
        embeddings.embedding_quantizer_weights,
    )
    gathers = _int8_tensors(content, "GATHER", 0)
    assert len(gathers) == 1  # the word table; the segment table stays float, as trained
    assert _holds_exactly(gathers, table, step)

    # Every projection input's and output's activation step is the scale of an FC input or
    # output; the pooler and the head, float in the model, stay float.
    inputs, float_fcs = _fc_scales(content, "inputs")
    outputs, _ = _fc_scales(content, "outputs")
    assert float_fcs == 2
    for block in encoder.executed_blocks:
        steps = [
            (inputs, block.attention.input_quantizer_weights),
            (inputs, block.attention.output_dense.input_quantizer_weights),
            (inputs, block.intermediate_dense.input_quantizer_weights),
            (inputs, block.output_dense.input_quantizer_weights),
            (outputs, block.attention.output_dense.output_quantizer_weights),
            (outputs, block.intermediate_dense.output_quantizer_weights),
            (outputs, block.output_dense.output_quantizer_weights),
        ]
        for scales, weights in steps:
            step = abs(float(weights["step"].numpy()))
            assert np.isclose(scales, step, rtol=1e-6, atol=0).any(), weights["step"].path

    keras_logits = np.concatenate([np.asarray(model(b)) for b in verification])
    tflite = TFLiteModelRunner(content)
    tflite_logits = np.concatenate([np.asarray(tflite(b)) for b in verification])
    assert (keras_logits.argmax(-1) == tflite_logits.argmax(-1)).mean() >= 0.98

    weight_bits, embedding_bits, _ = map(int, scheme.split("-"))
    float_bytes = model.count_params() * 4
    assert packed_size_bytes(model) < float_bytes * max(weight_bits, embedding_bits) / 32 + 40_000


def test_a_qat_dense_computes_what_its_integer_kernel_computes():
    """Code for code with the int8 FULLY_CONNECTED, inputs and outputs clipped at both ends
    (int8 activations reach -128) and a bias off the s_in·s_w grid (the kernel adds it in
    int32 on that grid) included."""
    from tfcompress.layers import LsqQuantizer, QuantizedDense

    rng = np.random.default_rng(0)
    # Steps with no common multiple, as trained ones are: on commensurate grids the bias
    # rounding could never move an output across a tie.
    ids = keras.Input((16,), dtype="int32", name="token_ids")
    table = keras.layers.Embedding(64, 32)  # float inputs for the dense, from int32 ids
    dense = QuantizedDense(
        48,
        input_quantizer=LsqQuantizer(8, initial_step=0.0213),
        kernel_quantizer=LsqQuantizer(8, kind="weight", initial_step=0.0187),
        output_quantizer=LsqQuantizer(8, initial_step=0.0101),
    )
    model = keras.Model(ids, dense(table(ids)))
    table.embeddings.assign(rng.normal(scale=1.5, size=(64, 32)))
    dense.kernel.assign(rng.normal(scale=0.1, size=(32, 48)))
    dense.bias.assign(rng.normal(scale=0.5, size=48))
    inputs = [{"token_ids": rng.integers(0, 64, (1, 16)).astype("int32")} for _ in range(8)]
    runner = TFLiteModelRunner(convert(model, "qat", representative_inputs=inputs))
    step = float(dense.output_quantizer_weights["step"].numpy())
    keras_codes = np.round(np.concatenate([model(b["token_ids"]) for b in inputs]) / step)
    tflite_codes = np.round(np.concatenate([runner(b) for b in inputs]) / step)
    assert keras_codes.min() == -128 and keras_codes.max() == 127
    np.testing.assert_array_equal(tflite_codes, keras_codes)
