"""One .tflite that runs each input at the shortest of several sequence lengths that fits it.

A SNIPS utterance is about 12 tokens; an encoder exported at the recipe's fixed length (64 or
128) spends most of its time on padding. A bucketed export holds the encoder converted at each
length (`bucket_lengths`, e.g. 16, 32, 64 and the recipe's length) and picks one per input
inside the graph, so callers run it as they run any export, in one `invoke`:

- subgraph 0 (the front) counts the input's real tokens, slices its ids to every bucket length
  and says which lengths it fits (`route`); a strings-in front tokenizes first;
- a chain of TFLite IF ops (one in the front, one per further `dispatch_*` subgraph) sends the
  sliced ids to the `bucket_<L>` subgraph of the shortest length L that fits;
- each `bucket_<L>` subgraph is the encoder as `converter.convert` makes it at that length
  (static shapes: XNNPACK delegates it like a single-length export), its outputs at length L
  (per-token outputs are [1, L, ...]; the tokens past L are padding).

The buckets share every constant whose bytes are equal — all float weights, and int8 weights
when the conversions share their equalization scales (`convert(shared_scales=...)`) — so the
file grows by a bucket's activations' worth of metadata and biases, not by a model per length.
Each bucket is calibrated on the representative inputs cut to its length.
"""

import copy

import numpy as np

from tfcompress.errors import ConfigError
from tfcompress.export.flatbuffer_edits import (
    ConstantPool,
    check_same_tensor,
    entry_name,
    keep_newer_runtime_version,
    tensor_map,
    unique_tensor_names,
)

DEFAULT_BUCKETS = (16, 32, 64)
FITS = "fits_{}"  # front output: the input's real tokens fit in this many positions


def bucket_lengths(sequence_length: int, buckets=DEFAULT_BUCKETS) -> tuple[int, ...]:
    """The lengths a bucketed export holds: `buckets` below `sequence_length`, then it."""
    buckets = [int(length) for length in buckets]
    if any(length < 2 for length in buckets):
        raise ConfigError(f"bucket lengths must be at least 2 ([CLS] and [SEP]), got {buckets}")
    return tuple(sorted({length for length in buckets if length < sequence_length})) + (
        int(sequence_length),
    )


def fitted_buckets(lengths, sequence_length: int, count: int = 3, step: int = 4) -> tuple:
    """The `count` bucket lengths (multiples of `step`, below `sequence_length`) that minimize
    the mean length the given inputs run at, each at the shortest bucket that fits it.

    An encoder's time at short lengths is close to a + b·length, so this is the expected
    latency's minimizer too. Exact, by dynamic programming over the candidate lengths; fewer
    than `count` come back when more would not shorten the mean. `lengths`: real tokens per
    input ([CLS] and [SEP]s included), e.g. of the training texts (`WordPieceTokenizer.
    packed_lengths`).
    """
    lengths = np.minimum(np.asarray(lengths, dtype=np.int64), sequence_length)
    if lengths.size == 0:
        raise ConfigError("fitting bucket lengths needs at least one input length")
    edges = [0, *range(step, sequence_length, step), sequence_length]
    below = np.searchsorted(np.sort(lengths), edges, side="right")  # inputs <= each edge

    def padded(low, high):  # inputs longer than edges[low] and up to edges[high], run at high
        return (below[high] - below[low]) * edges[high]

    last = len(edges) - 1
    # best[k][i]: (least total length of the inputs up to edges[i], buckets) with k buckets,
    # the longest at edges[i]. Ties go to fewer buckets.
    best = [{0: (0, ())}]
    for k in range(1, count + 1):
        best.append({})
        for i in range(k, last):
            best[k][i] = min(
                (cost + padded(j, i), chosen + (edges[i],))
                for j, (cost, chosen) in best[k - 1].items()
                if j < i
            )
    finished = [
        (cost + padded(i, last), len(chosen), chosen)
        for table in best
        for i, (cost, chosen) in table.items()
    ]
    return min(finished)[2]


def at_length(model, sequence_length: int):
    """The task model with static inputs of `sequence_length`: the same layers and weights."""
    from tfcompress.models.task_models import TaskModel

    if not isinstance(model, TaskModel):
        raise ConfigError(
            f"length buckets need a tfcompress TaskModel (an encoder and a head), got "
            f"{type(model).__name__}"
        )
    longest = model.encoder.config.max_length
    if sequence_length > longest:
        raise ConfigError(
            f"sequence length {sequence_length} is past the encoder's {longest} positions"
        )
    return TaskModel(model.encoder, model.head, sequence_length, name=model.name)


def cut_inputs(inputs, length: int):
    """Batched input dicts cut to their first `length` positions (a bucket's calibration data:
    inputs that fit are unchanged, longer ones keep their first tokens)."""
    return [
        {name: np.asarray(value)[:, :length] for name, value in batch.items()} for batch in inputs
    ]


def _tested(lengths):
    """The lengths the IF chain tests an input against: all but the longest (a single length
    is tested too, always true, so that its encoder still runs in a branch subgraph)."""
    return lengths[:-1] or lengths[:1]


def routed_names(input_names, lengths) -> list[str]:
    """The front's outputs that the dispatch chain passes on, in order."""
    return [FITS.format(length) for length in _tested(lengths)] + [
        f"{name}_{length}" for length in lengths for name in input_names
    ]


def route(packed: dict, lengths) -> dict:
    """Front outputs for packed batch-1 ids: every bucket's slice, and which lengths fit."""
    import tensorflow as tf

    real_tokens = tf.reduce_sum(packed["padding_mask"])
    routed = {FITS.format(length): real_tokens <= length for length in _tested(lengths)}
    for length in lengths:
        for name, value in packed.items():
            routed[f"{name}_{length}"] = value[:, :length]
    return routed


def build_router_module(input_names, sequence_length: int, lengths):
    """The ids-in front: a tf.Module whose `serve` routes [1, sequence_length] int32 ids."""
    import tensorflow as tf

    if "padding_mask" not in input_names:
        raise ConfigError("length buckets need a padding_mask input to count real tokens")
    names = sorted(input_names)
    specs = [tf.TensorSpec([1, sequence_length], tf.int32, name=name) for name in names]
    module = tf.Module()
    module.serve = tf.function(
        lambda *ids: route(dict(zip(names, ids)), lengths), input_signature=specs
    )
    return module


def compose_buckets(
    front: bytes, encoders: dict, input_names, keep_outputs=(), renamed=None
) -> bytes:
    """One flatbuffer: `front` (subgraph 0, its signature the model's), then the IF chain into
    one subgraph per `encoders` entry ({length: .tflite bytes of the encoder at it}).

    The signature takes the front's inputs and returns the encoders' outputs (names mapped by
    `renamed`) plus the front outputs named in `keep_outputs`.
    """
    from ai_edge_litert.tools import flatbuffer_utils

    lengths = sorted(encoders)
    model = flatbuffer_utils.convert_bytearray_to_object(front)
    main, signature = model.subgraphs[0], model.signatureDefs[0]
    front_outputs = {entry_name(entry): entry.tensorIndex for entry in signature.outputs}
    routed = routed_names(input_names, lengths)
    missing = [name for name in routed + list(keep_outputs) if name not in front_outputs]
    if missing:
        raise ValueError(f"the front has no output(s) {missing}")
    templates = [main.tensors[front_outputs[name]] for name in routed]
    pool = ConstantPool(model)
    buckets, output_names, output_templates = {}, None, []
    for length in lengths:
        encoder = flatbuffer_utils.convert_bytearray_to_object(encoders[length])
        buckets[length], names, outputs = _add_bucket(
            model, pool, encoder, length, input_names, routed, templates
        )
        if output_names not in (None, names):
            raise ValueError(f"bucket {length} has outputs {names}, not {output_names}")
        output_names = names
        output_templates.append(outputs)
    outputs_like = [_dynamic_like(group) for group in zip(*output_templates)]
    otherwise = buckets[lengths[-1]]
    for length in reversed(lengths[1:-1]):
        otherwise = _add_dispatch(
            model, pool, length, buckets[length], otherwise, routed, templates, outputs_like
        )
    if_outputs = _add_if(
        model,
        main,
        pool,
        front_outputs[FITS.format(lengths[0])],
        [front_outputs[name] for name in routed],
        (buckets[lengths[0]], otherwise),
        outputs_like,
    )
    kept = [front_outputs[name] for name in keep_outputs]
    main.outputs = if_outputs + kept
    signature.outputs = [
        tensor_map((renamed or {}).get(name, name), index)
        for name, index in zip(output_names, if_outputs)
    ] + [tensor_map(name, index) for name, index in zip(keep_outputs, kept)]
    unique_tensor_names(model)
    return bytes(flatbuffer_utils.convert_object_to_bytearray(model))


def _add_bucket(model, pool, encoder, length, input_names, routed, templates):
    """Append `encoder`'s subgraph as `bucket_<length>`, taking all `routed` tensors as inputs
    (its own ids among them). Returns (subgraph index, output names, output tensors)."""
    if len(encoder.subgraphs) != 1:
        raise ValueError("bucket encoders must be single-subgraph models")
    graph, signature = encoder.subgraphs[0], encoder.signatureDefs[0]
    for tensor in graph.tensors:
        tensor.buffer = pool.buffer(encoder.buffers[tensor.buffer])
    for op in graph.operators:
        op.opcodeIndex = pool.opcode(encoder.operatorCodes[op.opcodeIndex])
    own = {f"{entry_name(entry)}_{length}": entry.tensorIndex for entry in signature.inputs}
    expected = {f"{name}_{length}" for name in input_names}
    if set(own) != expected:
        raise ValueError(f"bucket {length} takes {sorted(own)}, expected {sorted(expected)}")
    graph.inputs = [
        own[name] if name in own else _add_tensor_like(graph, template)
        for name, template in zip(routed, templates)
    ]
    for name, template in zip(routed, templates):
        if name in own:
            check_same_tensor(template, graph.tensors[own[name]], name)
    entries = sorted(signature.outputs, key=entry_name)
    graph.outputs = [entry.tensorIndex for entry in entries]
    graph.name = f"bucket_{length}".encode()
    model.subgraphs.append(graph)
    keep_newer_runtime_version(model, encoder)
    return (
        len(model.subgraphs) - 1,
        [entry_name(entry) for entry in entries],
        [graph.tensors[index] for index in graph.outputs],
    )


def _add_dispatch(model, pool, length, then_index, else_index, routed, templates, outputs_like):
    """A `dispatch_<length>` subgraph: IF the input fits `length`, run `then_index`, else
    `else_index`."""
    from ai_edge_litert import schema_py_generated as schema

    graph = schema.SubGraphT()
    graph.tensors, graph.operators = [], []
    graph.inputs = [_add_tensor_like(graph, template) for template in templates]
    condition = graph.inputs[routed.index(FITS.format(length))]
    graph.outputs = _add_if(
        model, graph, pool, condition, graph.inputs, (then_index, else_index), outputs_like
    )
    graph.name = f"dispatch_{length}".encode()
    model.subgraphs.append(graph)
    return len(model.subgraphs) - 1


def _add_if(model, graph, pool, condition, inputs, branches, outputs_like):
    from ai_edge_litert import schema_py_generated as schema

    op = schema.OperatorT()
    op.opcodeIndex = pool.builtin(schema.BuiltinOperator.IF)
    op.inputs = [condition] + list(inputs)
    op.outputs = [_add_tensor_like(graph, template) for template in outputs_like]
    op.builtinOptionsType = schema.BuiltinOptions.IfOptions
    op.builtinOptions = schema.IfOptionsT()
    op.builtinOptions.thenSubgraphIndex, op.builtinOptions.elseSubgraphIndex = branches
    graph.operators.append(op)
    return list(op.outputs)


def _dynamic_like(tensors):
    """An output tensor template for all buckets: the longest's, -1 where the shapes differ."""
    longest = tensors[-1]
    shapes = np.array([list(tensor.shape) for tensor in tensors])
    template = copy.copy(longest)
    template.shapeSignature = np.where((shapes == shapes[-1]).all(axis=0), shapes[-1], -1)
    return template


def _add_tensor_like(graph, template):
    from ai_edge_litert import schema_py_generated as schema

    tensor = schema.TensorT()
    tensor.shape = template.shape
    tensor.shapeSignature = template.shapeSignature
    tensor.type = template.type
    tensor.name = template.name
    tensor.buffer = 0
    graph.tensors.append(tensor)
    return len(graph.tensors) - 1


def convert_bucketed(
    model,
    mode,
    lengths,
    representative_inputs=None,
    float_ops=None,
    *,
    front,
    front_custom_ops=False,
    keep_outputs=(),
    renamed=None,
    calibration_log=None,
    **options,
) -> bytes:
    """`converter.convert` at every length of `lengths`, composed behind `front` (a tf.Module
    whose `serve` gives the `route` outputs: `build_router_module` for ids, a bucketed
    tokenizer module for strings, `front_custom_ops=True`). `options` are `convert`'s; each bucket calibrates on
    `representative_inputs` cut to its length, and the int8 weights are shared (equalization
    scales are chosen at the longest length). `calibration_log` receives the longest's log.
    """
    from tfcompress.export.converter import convert, input_signature

    representative = None if representative_inputs is None else list(representative_inputs)
    shared_scales, encoders = {}, {}
    for length in sorted(lengths, reverse=True):
        log = {}
        encoders[length] = convert(
            at_length(model, length),
            mode,
            length,
            None if representative is None else cut_inputs(representative, length),
            float_ops,
            calibration_log=log,
            shared_scales=shared_scales,
            **options,
        )
        if length == max(lengths) and calibration_log is not None:
            calibration_log.update(log)
    front_content = convert(front, "float", custom_ops=front_custom_ops)
    names = sorted(input_signature(model, max(lengths)))
    return compose_buckets(front_content, encoders, names, keep_outputs, renamed)


def convert_ids_model(
    model, mode, lengths, representative_inputs=None, float_ops=None, **options
) -> bytes:
    """The ids-in .tflite at `lengths[-1]` (`converter.convert`), with length buckets behind
    the token-counting router when `lengths` holds several."""
    from tfcompress.export.converter import convert, input_signature

    length = lengths[-1]
    if len(lengths) == 1:
        return convert(model, mode, length, representative_inputs, float_ops, **options)
    front = build_router_module(sorted(input_signature(model, length)), length, lengths)
    return convert_bucketed(
        model, mode, lengths, representative_inputs, float_ops, front=front, **options
    )


def pad_token_outputs(outputs: dict, sequence_length: int) -> dict:
    """Per-token outputs ([1, L, ...], L < sequence_length) zero-padded to sequence_length, so
    rows that ran in different buckets stack; the positions past L were padding."""
    padded = {}
    for name, value in outputs.items():
        value = np.asarray(value)
        if value.ndim >= 3 and value.shape[1] < sequence_length:
            widths = [(0, 0)] * value.ndim
            widths[1] = (0, sequence_length - value.shape[1])
            value = np.pad(value, widths)
        padded[name] = value
    return padded
