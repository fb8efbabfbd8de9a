"""Calibration passes between TFLite's calibrate-only conversion and `mlir_quantize`.

TFLite quantizes every activation tensor with one scale from the min and max seen during
calibration. On BERT students that loses top-1 agreement in two ways (SST-2 dev, 6-layer SPS
student, docs/results.md): a few channels are far wider than the rest (the feed-forward
output reaches 167 where its median value is 0.2, so one int8 step is larger than most of the
tensor), and a single unusual calibration sentence sets the range for all the others.

- `equalize_fc_outputs`: an FC whose output goes only to float islands gets output channel j of
  its weights and bias divided by s_j and a float MUL by s after it. The float function is
  unchanged; the int8 output tensor is narrower by the outlier channels' factor.
- `robust_activation_ranges`: each activation's range becomes a quantile of the per-example
  minima and maxima instead of their extremes.

Both work on the calibrated float flatbuffer (`_experimental_calibrate_only`) and take their
statistics from running it on the representative data. `keep_trained_weight_grids` works on
the quantized model of a quantization-aware (qat) export.
"""

import numpy as np
from ai_edge_litert.tools import flatbuffer_utils

from tfcompress.export.tflite_model_runner import inspecting_interpreter

schema = flatbuffer_utils.schema_fb

# An FC's output channels are narrowed to this quantile of their ranges...
TARGET_QUANTILE = 0.9
# ...when the widest channel is at least this many times wider than that.
MIN_SPREAD = 4.0


def equalize_fc_outputs(
    calibrated: bytes, representative, float_ops, shared_scales: dict | None = None
) -> tuple[bytes, list[dict]]:
    """Equalize the output channels of FCs that feed only `float_ops`.

    FCs sharing a weight buffer (weight-shared layers) share one scale. `shared_scales`
    ({weight tensor name: scale, or None for left alone}) is filled with the scales chosen
    and reused where it has them, so conversions of one model at several sequence lengths
    give the same int8 weights. Returns the rewritten flatbuffer and one record per
    equalized group.
    """
    graph = _Graph(calibrated)
    groups = _output_groups(graph, set(float_ops))
    if not groups:
        return calibrated, []
    outputs = [op.outputs[0] for group in groups for op in group]
    ranges = _channel_ranges(calibrated, representative, outputs)
    records = []
    for group in groups:
        widths = np.max([np.abs(ranges[op.outputs[0]]).max(axis=0) for op in group], axis=0)
        key = graph.name(group[0].inputs[1])
        if shared_scales is not None and key in shared_scales:
            scale = shared_scales[key]
        else:
            scale = _equalizing_scale(widths)
            if shared_scales is not None:
                shared_scales[key] = scale
        if scale is None:
            continue
        for op in group:
            original = op.outputs[0]
            narrowed = graph.add_tensor_like(original, ranges[original] / scale, "equalized")
            graph.insert_mul_after(op, narrowed, scale, original)
            op.outputs = [narrowed]
        graph.scale_output_channels(group, 1.0 / scale)
        records.append(
            {
                "outputs": [graph.name(op.outputs[0]) for op in group],
                "widest_range": float(widths.max()),
                "widest_range_after": float((widths / scale).max()),
            }
        )
    return graph.serialize(), records


def _equalizing_scale(widths):
    """Per-channel divisors bringing the channels to TARGET_QUANTILE of their widths; None when
    the widest channel is not MIN_SPREAD times wider than that."""
    target = float(np.quantile(widths, TARGET_QUANTILE))
    if target <= 0 or widths.max() < MIN_SPREAD * target:
        return None
    return np.maximum(widths / target, 1.0).astype(np.float32)


def robust_activation_ranges(calibrated: bytes, representative, quantile: float) -> bytes:
    """Set each activation's range to the `quantile` of per-example maxima (and minima).

    Graph outputs keep their full range: clipping logits could tie classes.
    """
    graph = _Graph(calibrated)
    tensors = graph.calibrated_activations()
    lows, highs = {i: [] for i in tensors}, {i: [] for i in tensors}
    for values in _per_example_values(calibrated, representative, tensors):
        for index, value in values.items():
            lows[index].append(value.min())
            highs[index].append(value.max())
    for index in tensors:
        if lows[index]:
            low = float(min(np.quantile(lows[index], 1.0 - quantile), 0.0))
            high = float(max(np.quantile(highs[index], quantile), 0.0))
            graph.set_range(index, low, high)
    return graph.serialize()


def keep_trained_weight_grids(quantized: bytes, calibrated: bytes) -> tuple[bytes, list[str]]:
    """Re-quantize int8 FC weights onto the grid the model was trained on.

    A fake-quantized kernel reaches the converter as float values k·s (|k| ≤ 127), and TFLite
    re-quantizes them per channel with scale max|row|/127, which does not hold k·s exactly. Here
    every FC whose float weights lie on such a grid gets int8 codes k and scale s, and its int32
    bias is re-quantized with the new scale, so the TFLite weights equal the trained ones.
    Returns the model and the names of the weight tensors moved onto their grid.
    """
    float_graph, graph = _Graph(calibrated), _Graph(quantized)
    # Quantization adds QUANTIZE/DEQUANTIZE ops but keeps the FCs in order (names may change).
    float_fcs = float_graph.fully_connected()
    counterpart = dict(zip(map(id, graph.fully_connected()), float_fcs, strict=True))
    snapped = []
    for ops in _int8_weight_groups(graph).values():
        float_op = counterpart[id(ops[0])]
        if not float_graph.has_float_constant(float_op, 1) or not graph.biases_rescalable(ops):
            continue
        weights = float_graph.array(float_op.inputs[1])
        steps = _grid_steps(weights)
        if steps is None:
            continue
        graph.set_int8_weights(ops[0], np.round(weights / steps[:, None]), steps)
        if float_graph.has_float_constant(float_op, 2):
            for op in ops:
                graph.set_int32_bias(op, float_graph.array(counterpart[id(op)].inputs[2]))
        snapped.append(graph.name(ops[0].inputs[1]))
    return graph.serialize(), snapped


def snap_to_known_grids(quantized: bytes, grids) -> tuple[bytes, list[str]]:
    """Put int8 FC weights onto grids the model reports it trained: `grids` is a list of
    (codes (out, in), steps (out,)) — e.g. every LSQ kernel's, which the converter may have
    re-quantized at its own scales (kernels read by several FCs, per-channel steps).

    An FC whose dequantized weights lie within half a TFLite step of codes·steps gets exactly
    those codes and scales, and its int32 bias the matching scale. Returns the model and the
    names of the weight tensors snapped.
    """
    graph = _Graph(quantized)
    snapped = []
    for ops in _int8_weight_groups(graph).values():
        weights, scales = graph.dequantized_weights(ops[0])
        match = _matching_grid(weights, scales, grids)
        if match is None or not graph.biases_rescalable(ops):
            continue
        codes, steps = match
        biases = [graph.dequantized_bias(op) for op in ops]
        graph.set_int8_weights(ops[0], codes, steps)
        for op, bias in zip(ops, biases, strict=True):
            if bias is not None:
                graph.set_int32_bias(op, bias)
        snapped.append(graph.name(ops[0].inputs[1]))
    return graph.serialize(), snapped


def _matching_grid(weights, scales, grids):
    for codes, steps in grids:
        if codes.shape != weights.shape:
            continue
        # Rounding to the converter's grid moved each value by at most half its scale.
        error = np.abs(weights - codes * steps[:, None]).max(axis=1)
        if np.all(error <= 0.5 * scales + 1e-6 * steps):
            return codes, steps
    return None


def quantize_once(quantized: bytes) -> tuple[bytes, list[str]]:
    """Fold float → QUANTIZE(a) → QUANTIZE(b) into one QUANTIZE(b).

    The converter quantizes a float island's output at its calibrated range and then
    requantizes it to the range a fake-quant op gave the next tensor (softmax → attention
    probabilities, for example): two roundings where the model trained with one. Returns
    the model and the names of the tensors now quantized once.
    """
    graph = _Graph(quantized)
    folded = []
    for first in graph.ops("QUANTIZE"):
        source, middle = first.inputs[0], first.outputs[0]
        users = graph.users(middle)
        if graph.is_int8(source) or middle in graph.subgraph.outputs or len(users) != 1:
            continue
        (second,) = users
        if graph._op_name(second) != "QUANTIZE":
            continue
        # The first QUANTIZE now writes the second's output (and its scale) directly.
        first.outputs = list(second.outputs)
        graph.subgraph.operators.remove(second)
        folded.append(graph.name(second.outputs[0]))
    return graph.serialize(), folded


def float_trained_ops(calibrated: bytes) -> list[str]:
    """Names of the ops a fake-quantized model trained in float: FCs that read float inputs
    (pooler, task head) and GATHERs of float tables (position and segment embeddings), when
    other FCs read fake-quantized (int8) inputs. A model with weight quantizers only, and so
    no int8 FC inputs, gets none."""
    graph = _Graph(calibrated)
    fcs = graph.fully_connected()
    if not any(graph.is_int8(op.inputs[0]) for op in fcs):
        return []
    float_fcs = [op for op in fcs if not graph.is_int8(op.inputs[0])]
    float_gathers = [op for op in graph.ops("GATHER") if not graph.is_int8(op.inputs[0])]
    return [graph.name(op.outputs[0]) for op in float_fcs + float_gathers]


def _int8_weight_groups(graph):
    """{weight buffer: [FC ops]} for FCs with int8 weights; shared weights share one scale."""
    groups = {}
    for op in graph.fully_connected():
        if graph.is_int8(op.inputs[1]):
            groups.setdefault(graph.weight_buffer(op), []).append(op)
    return groups


def _grid_steps(weights):
    """One step per output channel (row) of `weights` (out, in) putting every value on an
    integer grid: the whole tensor's step when it has one (a per-tensor trained grid keeps
    its own step as the scale), else each row's (per-channel grids); None if off-grid."""
    step = _grid_step(weights)
    if step is not None:
        return np.full(weights.shape[0], step)
    steps = [_grid_step(row) if np.any(row) else 0.0 for row in weights]
    if any(step is None for step in steps) or not any(steps):
        return None
    steps = np.asarray(steps)
    return np.where(steps > 0, steps, steps.max())  # an all-zero row: any scale holds it


def _grid_step(values, levels=127, tolerance=1e-3):
    """The largest s such that every value is k·s with integer |k| ≤ levels, else None.

    The smallest magnitude is d·s for some code d ≥ 1 (a small matrix on a low-bit grid may
    hold no ±1 codes), so s is tried as that magnitude over d = 1, 2, ...
    """
    magnitudes = np.abs(values)
    # A zero code can come back from FakeQuant as ±1e-9 (q·s + nudged min): not a grid point.
    magnitudes = magnitudes[magnitudes > 1e-6 * magnitudes.max()] if magnitudes.size else magnitudes
    if magnitudes.size == 0:
        return None
    smallest = float(magnitudes.min())
    for divisor in range(1, levels + 1):
        step = smallest / divisor
        codes = magnitudes / step
        if codes.max() > levels + tolerance:
            return None
        if np.abs(codes - np.round(codes)).max() < tolerance:
            return step
    return None


def _output_groups(graph, float_ops):
    """FCs grouped by weight buffer, kept only if every output feeds float islands alone."""
    groups = {}
    for op in graph.float_weight_fcs():
        groups.setdefault(graph.weight_buffer(op), []).append(op)
    return [
        ops
        for ops in groups.values()
        if all(graph.feeds_only(op.outputs[0], float_ops) for op in ops)
    ]


def _channel_ranges(calibrated, representative, tensors):
    """{tensor: per-channel [min, max], shape (2, channels)} over the representative data."""
    ranges = {}
    for values in _per_example_values(calibrated, representative, tensors):
        for index, value in values.items():
            value = value.reshape(-1, value.shape[-1])
            low, high = value.min(axis=0), value.max(axis=0)
            if index in ranges:
                low, high = np.minimum(ranges[index][0], low), np.maximum(ranges[index][1], high)
            ranges[index] = np.stack([low, high])
    return ranges


def _per_example_values(calibrated, representative, tensors):
    """Yield {tensor: value} for every representative example, running the float model."""
    interpreter = inspecting_interpreter(calibrated)
    runner = interpreter.get_signature_runner()
    for inputs in representative():
        runner(**inputs)
        yield {index: interpreter.get_tensor(index) for index in tensors}


class _Graph:
    """The first subgraph of a flatbuffer, with the edits the passes need."""

    def __init__(self, content):
        self.model = flatbuffer_utils.convert_bytearray_to_object(content)
        self.subgraph = self.model.subgraphs[0]

    def serialize(self) -> bytes:
        return bytes(flatbuffer_utils.convert_object_to_bytearray(self.model))

    def name(self, index):
        return self.subgraph.tensors[index].name.decode()

    def ops(self, name):
        return [op for op in self.subgraph.operators if self._op_name(op) == name]

    def fully_connected(self):
        return self.ops("FULLY_CONNECTED")

    def float_weight_fcs(self):
        return [op for op in self.fully_connected() if self._is_float_constant(op.inputs[1])]

    def is_int8(self, index):
        return self.subgraph.tensors[index].type == schema.TensorType.INT8

    def biases_rescalable(self, ops):
        """Whether each FC's bias can take a new weight scale: FCs sharing a bias buffer must
        share their input scale, since the int32 bias is stored at input × weight scale."""
        input_scales = {}
        for op in ops:
            if _bias(op) is None:
                continue
            bias_buffer = self.subgraph.tensors[_bias(op)].buffer
            scale = self.subgraph.tensors[op.inputs[0]].quantization.scale[0]
            if input_scales.setdefault(bias_buffer, scale) != scale:
                return False
        return True

    def has_float_constant(self, op, position):
        return (
            len(op.inputs) > position
            and op.inputs[position] >= 0
            and self._is_float_constant(op.inputs[position])
        )

    def dequantized_weights(self, op):
        """(float weights (out, in), per-channel scales) of an FC with int8 weights."""
        tensor = self.subgraph.tensors[op.inputs[1]]
        codes = np.asarray(self.model.buffers[tensor.buffer].data, np.uint8).view(np.int8)
        scales = np.broadcast_to(
            np.asarray(tensor.quantization.scale, np.float64), (tensor.shape[0],)
        )
        return codes.reshape(tensor.shape) * scales[:, None], scales

    def dequantized_bias(self, op):
        if _bias(op) is None:
            return None
        tensor = self.subgraph.tensors[_bias(op)]
        codes = np.asarray(self.model.buffers[tensor.buffer].data, np.uint8).view(np.int32)
        return codes * np.asarray(tensor.quantization.scale, np.float64)

    def set_int8_weights(self, op, codes, steps):
        """int8 `codes` (out, in) with scale `steps[i]` for output channel i."""
        tensor = self.subgraph.tensors[op.inputs[1]]
        self.model.buffers[tensor.buffer].data = codes.astype(np.int8).view(np.uint8).ravel()
        channels = codes.shape[0]
        tensor.quantization.scale = [float(step) for step in steps]
        tensor.quantization.zeroPoint = [0] * channels
        tensor.quantization.quantizedDimension = 0

    def set_int32_bias(self, op, values):
        """Bias at scale input_scale · weight_scale, the scale TFLite's int8 FC requires."""
        if _bias(op) is None:
            return
        input_scale = self.subgraph.tensors[op.inputs[0]].quantization.scale[0]
        weight_scales = np.asarray(self.subgraph.tensors[op.inputs[1]].quantization.scale)
        scales = input_scale * weight_scales
        tensor = self.subgraph.tensors[_bias(op)]
        codes = np.round(values / scales).astype(np.int32)
        self.model.buffers[tensor.buffer].data = codes.view(np.uint8).ravel()
        tensor.quantization.scale = [float(x) for x in scales]
        tensor.quantization.zeroPoint = [0] * len(scales)

    def calibrated_activations(self):
        """Float tensors with a calibrated range that are neither constants nor graph outputs."""
        outputs = set(self.subgraph.outputs)
        return [
            index
            for index, tensor in enumerate(self.subgraph.tensors)
            if tensor.type == schema.TensorType.FLOAT32
            and tensor.quantization is not None
            and tensor.quantization.min is not None
            and self.model.buffers[tensor.buffer].data is None
            and index not in outputs
        ]

    def users(self, index):
        return [op for op in self.subgraph.operators if index in op.inputs]

    def feeds_only(self, index, op_names):
        users = [self._op_name(op) for op in self.subgraph.operators if index in op.inputs]
        return bool(users) and index not in self.subgraph.outputs and set(users) <= op_names

    def weight_buffer(self, op):
        return self.subgraph.tensors[op.inputs[1]].buffer

    def scale_output_channels(self, ops, factor):
        """Multiply output channel j of FCs' float weights (out, in) and biases by factor[j],
        once per buffer (the FCs share their weights, maybe their biases)."""
        weights = [op.inputs[1] for op in ops]
        biases = [_bias(op) for op in ops if self.has_float_constant(op, 2)]
        done = set()
        for indices, shape in ((weights, (-1, 1)), (biases, (-1,))):
            for index in indices:
                buffer = self.subgraph.tensors[index].buffer
                if buffer not in done:
                    self._set_array(index, self.array(index) * factor.reshape(shape))
                    done.add(buffer)

    def set_range(self, index, low, high):
        self.subgraph.tensors[index].quantization.min = [low]
        self.subgraph.tensors[index].quantization.max = [high]

    def add_tensor_like(self, index, channel_ranges, suffix):
        """A float activation shaped like `index`, its range the union of `channel_ranges`."""
        like = self.subgraph.tensors[index]
        tensor = schema.TensorT()
        tensor.shape, tensor.shapeSignature, tensor.type = (
            like.shape,
            like.shapeSignature,
            like.type,
        )
        tensor.name = f"{self.name(index)}/{suffix}".encode()
        tensor.quantization = schema.QuantizationParametersT()
        self.subgraph.tensors.append(tensor)
        new_index = len(self.subgraph.tensors) - 1
        self.set_range(
            new_index,
            float(min(channel_ranges[0].min(), 0.0)),
            float(max(channel_ranges[1].max(), 0.0)),
        )
        return new_index

    def insert_mul_after(self, op, index, scale, output):
        """`output = index * scale` (per last-axis channel), run right after `op`."""
        mul = schema.OperatorT()
        mul.opcodeIndex = self._opcode_index(schema.BuiltinOperator.MUL)
        mul.inputs = [index, self._add_constant(f"{self.name(output)}/scale", scale)]
        mul.outputs = [output]
        mul.builtinOptionsType = schema.BuiltinOptions.MulOptions
        mul.builtinOptions = schema.MulOptionsT()
        operators = self.subgraph.operators
        operators.insert(operators.index(op) + 1, mul)

    def _op_name(self, op):
        return flatbuffer_utils.opcode_to_name(self.model, op.opcodeIndex)

    def _is_float_constant(self, index):
        tensor = self.subgraph.tensors[index]
        data = self.model.buffers[tensor.buffer].data
        return tensor.type == schema.TensorType.FLOAT32 and data is not None and len(data) > 0

    def array(self, index):
        data = np.asarray(self.model.buffers[self.subgraph.tensors[index].buffer].data, np.uint8)
        return np.frombuffer(data.tobytes(), np.float32).reshape(self.subgraph.tensors[index].shape)

    def _set_array(self, index, values):
        self.model.buffers[self.subgraph.tensors[index].buffer].data = _bytes(values)

    def _add_constant(self, name, values):
        buffer = schema.BufferT()
        buffer.data = _bytes(values)
        self.model.buffers.append(buffer)
        tensor = schema.TensorT()
        tensor.shape = np.array(np.shape(values), np.int32)
        tensor.type = schema.TensorType.FLOAT32
        tensor.buffer = len(self.model.buffers) - 1
        tensor.name = name.encode()
        self.subgraph.tensors.append(tensor)
        return len(self.subgraph.tensors) - 1

    def _opcode_index(self, builtin):
        for index, code in enumerate(self.model.operatorCodes):
            if max(code.builtinCode, code.deprecatedBuiltinCode) == builtin:
                return index
        code = schema.OperatorCodeT()
        code.builtinCode = builtin
        code.deprecatedBuiltinCode = min(
            builtin, schema.BuiltinOperator.PLACEHOLDER_FOR_GREATER_OP_CODES
        )
        code.version = 1
        self.model.operatorCodes.append(code)
        return len(self.model.operatorCodes) - 1


def _bias(op):
    """The FC's bias tensor index, or None."""
    return op.inputs[2] if len(op.inputs) > 2 and op.inputs[2] >= 0 else None


def _bytes(values):
    return np.ascontiguousarray(values, np.float32).view(np.uint8).ravel()
