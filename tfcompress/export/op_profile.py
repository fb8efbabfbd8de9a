"""Per-operator latency profile of a `.tflite` model, measured on the host.

LiteRT's Python interpreter has no per-op profiler (`benchmark_model --enable_op_profiling`
does, but it is a separate binary). So each operator is cut out into a one-op model that keeps
its constant inputs, fed the real intermediate values from a run of the whole model, and timed
on its own with the same runtime (XNNPACK delegate on by default). Operators with identical
type, shapes, dtypes and options are timed once and counted as many times as they occur.
The sum is an estimate: it misses fusion across ops and adds one interpreter call per op
(reported separately as `call_overhead_ms` and subtracted).
"""

import collections
import copy
import time
from dataclasses import dataclass

import numpy as np
from ai_edge_litert.interpreter import Interpreter
from ai_edge_litert.tools import flatbuffer_utils

from tfcompress.export.tflite_model_runner import inspecting_interpreter
from tfcompress.latency.inputs import make_inputs


@dataclass
class OpTiming:
    """One operator kind: what it is, how often it occurs, what it costs."""

    op: str
    input_dtype: str
    output_dtype: str
    shapes: str
    count: int
    ms_each: float
    delegated: bool

    @property
    def ms_total(self) -> float:
        return self.ms_each * self.count


def profile_ops(model_content: bytes, inputs=None, num_threads=1, runs=30) -> dict:
    """Time every operator kind of the model; returns `{"ops": [...], "total_ms": ...}`."""
    values = _intermediate_values(model_content, inputs)
    model = flatbuffer_utils.convert_bytearray_to_object(model_content)
    subgraph = model.subgraphs[0]
    overhead = _call_overhead_ms(num_threads, runs)
    groups = collections.OrderedDict()
    for op in subgraph.operators:
        groups.setdefault(_op_key(model, subgraph, op), []).append(op)
    timings = []
    for (name, in_dtype, out_dtype, shapes, _), ops in groups.items():
        single = _single_op_model(model, ops[0], values)
        ms, delegated = _time_model(single, ops[0], values, num_threads, runs)
        timings.append(
            OpTiming(
                op=name,
                input_dtype=in_dtype,
                output_dtype=out_dtype,
                shapes=shapes,
                count=len(ops),
                ms_each=max(ms - overhead, 0.0),
                delegated=delegated,
            )
        )
    timings.sort(key=lambda t: -t.ms_total)
    return {
        "ops": timings,
        "total_ms": sum(t.ms_total for t in timings),
        "call_overhead_ms": overhead,
        "num_threads": num_threads,
    }


def summarize_by_op(profile: dict) -> list[dict]:
    """Aggregate a profile by (op, input dtype): the table a person reads first."""
    rows = collections.OrderedDict()
    for t in profile["ops"]:
        row = rows.setdefault(
            (t.op, t.input_dtype),
            {"op": t.op, "dtype": t.input_dtype, "count": 0, "ms": 0.0, "delegated": 0},
        )
        row["count"] += t.count
        row["ms"] += t.ms_total
        row["delegated"] += t.count if t.delegated else 0
    total = profile["total_ms"] or 1.0
    out = sorted(rows.values(), key=lambda r: -r["ms"])
    for row in out:
        row["share"] = row["ms"] / total
    return out


def shape_matched_floor(profile: dict) -> dict:
    """What the model's matmuls cost on their own: every FULLY_CONNECTED and BATCH_MATMUL of
    the profile (each shape cut out and timed in isolation, with the model's own dtypes,
    weights and inputs) times its count, summed. A model cannot run faster than its matmuls;
    its time over this floor is what the other ops and the op boundaries cost."""
    parts = {
        op: sum(t.ms_total for t in profile["ops"] if t.op == op)
        for op in ("FULLY_CONNECTED", "BATCH_MATMUL")
    }
    return {
        "fully_connected_ms": parts["FULLY_CONNECTED"],
        "batch_matmul_ms": parts["BATCH_MATMUL"],
        "floor_ms": sum(parts.values()),
    }


def format_profile(profile: dict, top: int = 20) -> str:
    """A markdown table of the aggregated profile."""
    lines = [
        "| op | input dtype | count | XNNPACK | ms | share |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for row in summarize_by_op(profile)[:top]:
        lines.append(
            f"| {row['op']} | {row['dtype']} | {row['count']} | {row['delegated']}/{row['count']} "
            f"| {row['ms']:.3f} | {row['share']:.1%} |"
        )
    lines.append(f"| **sum** | | | | {profile['total_ms']:.3f} | |")
    return "\n".join(lines)


def _intermediate_values(model_content, inputs):
    interpreter = inspecting_interpreter(model_content)
    runner = interpreter.get_signature_runner()
    runner(**(inputs if inputs is not None else make_inputs(runner.get_input_details())))
    values = {}
    for detail in interpreter.get_tensor_details():
        try:
            values[detail["index"]] = interpreter.get_tensor(detail["index"])
        except ValueError:  # tensors without data (optional / scratch)
            pass
    return values


def _op_key(model, subgraph, op):
    tensors = subgraph.tensors
    name = flatbuffer_utils.opcode_to_name(model, op.opcodeIndex) or "CUSTOM"
    ins = [tensors[i] for i in op.inputs if i >= 0]
    outs = [tensors[i] for i in op.outputs]
    shapes = " ".join(str(list(t.shape)) for t in ins) + " -> " + str(list(outs[0].shape))
    options = repr(vars(op.builtinOptions)) if op.builtinOptions is not None else ""
    return (name, _dtype(ins[0]) if ins else "-", _dtype(outs[0]), shapes, options)


def _dtype(tensor):
    return flatbuffer_utils.type_to_name(tensor.type).lower()


def _single_op_model(model, op, values):
    """A model holding only `op`, its tensors and its constant buffers.

    Shapes come from the run (`values`): tensors the converter left with a dynamic dimension
    carry a placeholder shape in the flatbuffer.
    """
    subgraph = model.subgraphs[0]
    single = flatbuffer_utils.schema_fb.ModelT()
    single.version = model.version
    single.operatorCodes = model.operatorCodes
    single.buffers = [flatbuffer_utils.schema_fb.BufferT()]
    new_index = {}
    tensors = []
    for index in [i for i in op.inputs if i >= 0] + list(op.outputs):
        if index in new_index:
            continue
        tensor = copy.copy(subgraph.tensors[index])
        if index in values:
            tensor.shape = np.array(values[index].shape, np.int32)
            tensor.shapeSignature = None
        buffer = model.buffers[tensor.buffer] if tensor.buffer else None
        if buffer is not None and buffer.data is not None and len(buffer.data):
            single.buffers.append(buffer)
            tensor.buffer = len(single.buffers) - 1
        else:
            tensor.buffer = 0
        new_index[index] = len(tensors)
        tensors.append(tensor)
    new_op = copy.copy(op)
    new_op.inputs = [new_index[i] if i >= 0 else -1 for i in op.inputs]
    new_op.outputs = [new_index[i] for i in op.outputs]
    new_op.intermediates = []
    sub = flatbuffer_utils.schema_fb.SubGraphT()
    sub.tensors = tensors
    sub.operators = [new_op]
    sub.inputs = [new_index[i] for i in op.inputs if i >= 0 and not tensors[new_index[i]].buffer]
    sub.outputs = new_op.outputs
    single.subgraphs = [sub]
    return bytes(flatbuffer_utils.convert_object_to_bytearray(single))


def _time_model(content, op, values, num_threads, runs):
    interpreter = Interpreter(model_content=content, num_threads=num_threads)
    interpreter.allocate_tensors()
    delegated = any(d["op_name"] == "DELEGATE" for d in interpreter._get_ops_details())
    for detail in interpreter.get_input_details():
        original = _original_index(detail["index"], op)
        value = values.get(original)
        if value is None:
            value = np.zeros(detail["shape"], detail["dtype"])
        interpreter.set_tensor(detail["index"], value.astype(detail["dtype"]))
    return _median_invoke_ms(interpreter, runs), delegated


def _original_index(new_index, op):
    seen = []
    for i in [i for i in op.inputs if i >= 0] + list(op.outputs):
        if i not in seen:
            seen.append(i)
    return seen[new_index]


def _median_invoke_ms(interpreter, runs):
    for _ in range(3):
        interpreter.invoke()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        interpreter.invoke()
        times.append(time.perf_counter() - start)
    return float(np.median(times) * 1e3)


def _call_overhead_ms(num_threads, runs):
    """Cost of one Python `invoke()` on a trivial model, subtracted from every op."""
    import tensorflow as tf

    @tf.function(input_signature=[tf.TensorSpec([1], tf.float32)])
    def identity_plus_one(x):
        return x + 1.0

    content = tf.lite.TFLiteConverter.from_concrete_functions(
        [identity_plus_one.get_concrete_function()]
    ).convert()
    interpreter = Interpreter(model_content=content, num_threads=num_threads)
    interpreter.allocate_tensors()
    return _median_invoke_ms(interpreter, runs * 3)
