"""TFLite text models: raw strings in, task outputs out, with the tokenizer inside the graph.

The graph runs tensorflow-text's FastBertNormalize and FastWordpieceTokenizeWithOffsets
(custom ops with TFLite kernels in `tensorflow_text.tflite_registrar`), then packs
`[CLS] a [SEP] (b [SEP])` with dense TFLite builtins. `WordPieceTokenizer.__call__` packs with
tensorflow-text's ragged ops instead (RoundRobinTrimmer, combine_segments, pad_model_inputs),
which lower to ops such as RaggedGather that have no TFLite kernel; it stays the reference
and `verify_text_model` checks the .tflite against it id for id.

The export is the ids-in export with a tokenizer in front: `converter.convert` turns the Keras
model (int32 id inputs) into any export mode — int8 with its float islands and calibration
passes, calibrated on the representative texts' ids — and the tokenizer (`build_tokenizer_module`)
into a float graph with custom ops; `join_tokenizer` then makes one flatbuffer in which the
tokenizer's id outputs are the encoder's inputs. Two conversions rather than one because the
calibration passes run the model with builtin kernels only, and so the strings-in encoder is
the ids-in encoder op for op. Parity goes through `verification.parity`, on real tokens only.
"""

from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import tensorflow as tf

from tfcompress.errors import ConfigError
from tfcompress.export import DEFAULT_RANGE_QUANTILE, TOKENIZE_SIGNATURE
from tfcompress.export.converter import convert
from tfcompress.export.flatbuffer_edits import (
    ConstantPool,
    check_same_tensor,
    entry_name,
    keep_newer_runtime_version,
    tensor_map,
    unique_tensor_names,
)
from tfcompress.export.length_buckets import (
    bucket_lengths,
    convert_bucketed,
    convert_ids_model,
    pad_token_outputs,
    route,
)
from tfcompress.export.tflite_export import export_report, pack_weights, write_export
from tfcompress.export.verification import ParityError, parity, tolerance

TEXT, TEXT_PAIR = "text", "text_pair"
TOKENIZE = TOKENIZE_SIGNATURE  # the tokenizer's signature in a split text model
ID_OUTPUTS = ("token_ids", "segment_ids")
SIGNATURE = "serving_default"


class TextModelParityError(ParityError):
    """The .tflite text model disagrees with the Keras model on the Python tokenizer's ids."""


# --- packing with TFLite builtins -------------------------------------------------------


def encode_for_tflite(tokenizer, texts_a, texts_b=None) -> dict[str, tf.Tensor]:
    """Same outputs as `tokenizer(texts_a, texts_b)`, packed with ops TFLite has kernels for.

    Only the wordpiece step is a tensorflow-text op; trimming, [CLS]/[SEP] insertion and
    padding are index arithmetic plus gather/where on dense int32 tensors.
    """
    texts_a = tf.convert_to_tensor(texts_a, tf.string)
    segments = [tokenizer.wordpiece_ids(texts_a)]
    if texts_b is not None:
        segments.append(tokenizer.wordpiece_ids(texts_b))
    budget = tokenizer.sequence_length - 1 - len(segments)
    lengths = round_robin_lengths([_row_lengths(s) for s in segments], budget)
    packed = _pack(segments, lengths, tokenizer)
    # The tokenizer ops' outputs have a dynamic batch even for a fixed-size input; restoring
    # the static shape keeps the encoder's tensors static, so XNNPACK can delegate them.
    shape = [texts_a.shape[0] or -1, tokenizer.sequence_length]
    return {name: tf.reshape(value, shape) for name, value in packed.items()}


def encode_one_text(tokenizer, text, text_pair=None) -> dict[str, tf.Tensor]:
    """`encode_for_tflite` for one text (or pair), inputs of shape [1]: fewer, mostly static ops.

    Every op after the tokenizer's is re-prepared on each call (the tokenizer resizes its
    outputs per text), so the op count is the cost: each segment is padded to S tokens once,
    and the rest is arithmetic on [1, S] positions: 17 ops in all against 39 (43 against 73 for
    a pair).
    """
    segments = [tokenizer.wordpiece_ids(text).flat_values]
    if text_pair is not None:
        segments.append(tokenizer.wordpiece_ids(text_pair).flat_values)
    seq_len = tokenizer.sequence_length
    budget = seq_len - 1 - len(segments)
    lengths = round_robin_lengths([tf.shape(s)[0] for s in segments], budget)
    positions = tf.range(seq_len, dtype=tf.int32)[tf.newaxis, :]
    zeros = tf.zeros([seq_len], tf.int32)
    first = tf.concat([[tokenizer.cls_id], segments[0], zeros], 0)[tf.newaxis, :seq_len]
    token_ids = tf.where(positions <= lengths[0], first, tokenizer.pad_id)
    token_ids = tf.where(positions == lengths[0] + 1, tokenizer.sep_id, token_ids)
    end = lengths[0] + 2  # one past the first [SEP]
    segment_ids = None
    if text_pair is not None:
        second = tf.concat([segments[1], zeros], 0)[:seq_len]
        inside = (positions >= end) & (positions < end + lengths[1])
        pieces = tf.gather(second, tf.maximum(positions - end, 0))
        token_ids = tf.where(inside, pieces, token_ids)
        token_ids = tf.where(positions == end + lengths[1], tokenizer.sep_id, token_ids)
        segment_ids = tf.cast((positions >= end) & (positions <= end + lengths[1]), tf.int32)
        end = end + lengths[1] + 1
    padding_mask = tf.cast(positions < end, tf.int32)
    if segment_ids is None:
        segment_ids = tf.zeros_like(padding_mask)
    return {"token_ids": token_ids, "segment_ids": segment_ids, "padding_mask": padding_mask}


def round_robin_lengths(lengths: list[tf.Tensor], budget: int) -> list[tf.Tensor]:
    """Kept lengths under tft.RoundRobinTrimmer: one token per segment in turn, `a` first.

    Closed form for one or two segments (all BERT packing needs), so no trimming op is needed.
    """
    if len(lengths) == 1:
        return [tf.minimum(lengths[0], budget)]
    if len(lengths) != 2:
        raise ValueError(f"only one or two segments are supported, got {len(lengths)}")
    a, b = lengths
    # A segment keeps its turn-share of the budget, or more when the other is shorter.
    keep_a = tf.minimum(a, tf.maximum((budget + 1) // 2, budget - b))
    keep_b = tf.minimum(b, tf.maximum(budget // 2, budget - a))
    return [keep_a, keep_b]


def _row_lengths(ragged: tf.RaggedTensor) -> tf.Tensor:
    return tf.cast(ragged.row_lengths(), tf.int32)


def _pack(segments, lengths, tokenizer) -> dict[str, tf.Tensor]:
    seq_len = tokenizer.sequence_length
    positions = tf.range(seq_len, dtype=tf.int32)[tf.newaxis, :]  # [1, S]
    token_ids = tf.where(positions == 0, tokenizer.cls_id, tokenizer.pad_id)
    segment_ids = tf.zeros_like(token_ids)
    start = tf.ones_like(lengths[0])[:, tf.newaxis]  # [B, 1]: first slot after [CLS]
    for segment_id, (segment, length) in enumerate(zip(segments, lengths)):
        length = length[:, tf.newaxis]
        offset = positions - start
        inside = (offset >= 0) & (offset < length)
        is_sep = offset == length
        token_ids = tf.where(inside, _gather_pieces(segment, offset, inside), token_ids)
        token_ids = tf.where(is_sep, tokenizer.sep_id, token_ids)
        segment_ids = tf.where(inside | is_sep, segment_id, segment_ids)
        start = start + length + 1
    padding_mask = tf.cast(positions < start, tf.int32)
    return {"token_ids": token_ids, "segment_ids": segment_ids, "padding_mask": padding_mask}


def _gather_pieces(segment: tf.RaggedTensor, offset: tf.Tensor, inside: tf.Tensor) -> tf.Tensor:
    """segment[b, offset[b, s]] where `inside`, anything elsewhere (the caller masks it)."""
    values = tf.cast(segment.flat_values, tf.int32)
    num_values = tf.size(values, out_type=tf.int32)
    # One sentinel slot keeps every index valid, even when all rows are empty.
    values = tf.concat([values, tf.zeros([1], tf.int32)], axis=0)
    starts = tf.cast(segment.row_starts(), tf.int32)[:, tf.newaxis]
    return tf.gather(values, tf.where(inside, starts + offset, num_values))


# --- conversion ------------------------------------------------------------------------------


def build_tokenizer_module(tokenizer, pair: bool = False, batch_size: int | None = 1, lengths=None):
    """A tf.Module whose `serve` maps strings [batch_size] to packed ids [batch_size, S].

    Inputs are named `text` (and `text_pair` when `pair`); outputs are `token_ids`,
    `segment_ids` and `padding_mask`. batch_size=1 is what a phone runs; None leaves it dynamic.
    `lengths` (bucket lengths, batch 1): the outputs also hold `length_buckets.route`'s.
    """
    if lengths is not None and batch_size != 1:
        raise ConfigError("length buckets run one text at a time: batch_size must be 1")

    pack = encode_one_text if batch_size == 1 else encode_for_tflite

    def encode(text, text_pair=None):
        packed = pack(tokenizer, text, text_pair)
        return packed if lengths is None else {**packed, **route(packed, lengths)}

    module = tf.Module()
    spec = tf.TensorSpec([batch_size], tf.string, name=TEXT)
    if pair:
        pair_spec = tf.TensorSpec([batch_size], tf.string, name=TEXT_PAIR)
        module.serve = tf.function(encode, input_signature=[spec, pair_spec])
    else:
        module.serve = tf.function(lambda text: encode(text), input_signature=[spec])
    return module


def convert_text_model(
    model,
    tokenizer,
    mode: str = "float",
    *,
    pair: bool = False,
    batch_size: int | None = 1,
    representative_texts: Sequence | None = None,
    float_ops=None,
    equalize: bool = True,
    range_quantile=DEFAULT_RANGE_QUANTILE,
    calibration_log: dict | None = None,
    buckets=None,
    split: bool = False,
) -> bytes:
    """Strings-in .tflite bytes: `model` converted as `converter.convert` converts it for ids,
    with `tokenizer` joined in front (`split`: beside it, as its own signature; see
    `split_tokenizer`).

    `representative_texts` (integer modes): strings, or (text, text_pair) tuples when `pair`;
    the converter calibrates on their ids from the Python tokenizer, which the in-graph one
    reproduces exactly. `buckets`: shorter lengths to hold beside the tokenizer's (batch 1;
    see `length_buckets`). The other arguments are `converter.convert`'s.
    """
    output_names(model)  # fail early on a name clash
    representative = None
    if representative_texts is not None:
        texts, pairs = split_texts(representative_texts, pair)
        representative = list(_id_batches(tokenizer, texts, pairs))
    lengths = bucket_lengths(tokenizer.sequence_length, buckets) if buckets else None
    options = dict(
        equalize=equalize, range_quantile=range_quantile, calibration_log=calibration_log
    )
    if split:
        if batch_size != 1:
            raise ConfigError("a split strings-in model runs one text at a time: batch_size 1")
        encoder = convert_ids_model(
            model,
            mode,
            lengths or (tokenizer.sequence_length,),
            representative,
            float_ops,
            **options,
        )
        front = convert(build_tokenizer_module(tokenizer, pair), "float", custom_ops=True)
        return split_tokenizer(front, encoder, renamed=_renamed_outputs(model))
    if lengths is not None and len(lengths) > 1:
        return convert_bucketed(
            model,
            mode,
            lengths,
            representative,
            float_ops,
            front=build_tokenizer_module(tokenizer, pair, batch_size, lengths),
            front_custom_ops=True,
            keep_outputs=ID_OUTPUTS,
            renamed=_renamed_outputs(model),
            equalize=equalize,
            range_quantile=range_quantile,
            calibration_log=calibration_log,
        )
    encoder = convert(
        model,
        mode,
        tokenizer.sequence_length,
        representative,
        float_ops,
        batch_size=batch_size,
        equalize=equalize,
        range_quantile=range_quantile,
        calibration_log=calibration_log,
    )
    front = convert(build_tokenizer_module(tokenizer, pair, batch_size), "float", custom_ops=True)
    return join_tokenizer(front, encoder, renamed=_renamed_outputs(model))


def export_text_model(
    model,
    tokenizer,
    output_path,
    mode: str = "float",
    *,
    pair: bool = False,
    batch_size: int | None = 1,
    representative_texts: Sequence | None = None,
    verify_texts: Sequence | None = None,
    min_agreement: float | None = None,
    max_abs_diff: float | None = None,
    float_ops=None,
    equalize: bool = True,
    range_quantile=DEFAULT_RANGE_QUANTILE,
    buckets=None,
    split: bool = False,
    weight_bits: int | None = None,
    extra_report: dict | None = None,
) -> dict:
    """`export_tflite` for a strings-in model: `output_path` (.tflite) plus its `.json` report.

    Every export mode; `representative_texts` / `verify_texts` are strings, or
    (text, text_pair) tuples when `pair`. The report is `export_tflite`'s (size, op histogram,
    float ops, calibration, parity against `model` on the Python tokenizer's ids, per-token
    outputs on real tokens only) plus `outputs`, `signatures` (`split`: the tokenizer as its
    own signature, `tokenize`, run before `serving_default`), `custom_ops`, `tensor_types`, and the
    texts whose ids differ (`parity.id_mismatches`). Both files are written atomically before
    the verdict; a failed check then raises TextModelParityError with the numbers.
    `weight_bits`: the low-bit kernels stored packed, as in `export_tflite`.
    """
    calibration = {}
    content = convert_text_model(
        model,
        tokenizer,
        mode,
        pair=pair,
        batch_size=batch_size,
        representative_texts=representative_texts,
        float_ops=float_ops,
        equalize=equalize,
        range_quantile=range_quantile,
        calibration_log=calibration,
        buckets=buckets,
        split=split,
    )
    content, storage = pack_weights(content, weight_bits)
    report = export_report(
        content,
        mode,
        output_path,
        sequence_length=tokenizer.sequence_length,
        buckets=list(bucket_lengths(tokenizer.sequence_length, buckets or ())),
        inputs=[TEXT, TEXT_PAIR] if pair else [TEXT],
        outputs=output_names(model) + list(ID_OUTPUTS),
        signatures=[TOKENIZE, SIGNATURE] if split else [SIGNATURE],
        batch_size=batch_size,
        custom_ops=custom_op_histogram(content),
        tensor_types=tensor_type_histogram(content),
        calibration=calibration,
        weight_storage=storage,
        extra_report=extra_report,
    )
    failure = None
    if verify_texts is not None:
        texts, pairs = split_texts(verify_texts, pair)
        limits = tolerance(mode, min_agreement, max_abs_diff)
        report["parity"], failure = text_parity(
            content, model, tokenizer, texts, pairs, limits, report["buckets"]
        )
    write_export(output_path, content, report, failure)
    return report


def output_names(model) -> list[str]:
    """The text model's task outputs: the model's output dict keys, or `logits`."""
    names = list(model.output.keys()) if isinstance(model.output, dict) else ["logits"]
    clash = set(names) & set(ID_OUTPUTS)
    if clash:
        raise ValueError(f"model output(s) {sorted(clash)} clash with the text model's id outputs")
    return names


def _renamed_outputs(model) -> dict | None:
    # A single-output Keras model exports its output as `output_0`; the text model says logits.
    return None if isinstance(model.output, dict) else {"output_0": "logits"}


def split_texts(items: Sequence, pair: bool) -> tuple[list[str], list[str] | None]:
    """(texts, text_pairs or None) from strings, or from (text, text_pair) tuples if `pair`."""
    items = list(items)
    if not items:
        raise ValueError("no texts given")
    if not pair:
        return [str(item) for item in items], None
    return [a for a, _ in items], [b for _, b in items]


def _id_batches(tokenizer, texts, text_pairs, batch_size=64):
    """The Python tokenizer's ids, as numpy input dicts of at most `batch_size` rows."""
    for begin in range(0, len(texts), batch_size):
        pairs = None if text_pairs is None else tf.constant(text_pairs[begin : begin + batch_size])
        encoded = tokenizer(tf.constant(texts[begin : begin + batch_size]), pairs)
        yield {name: value.numpy() for name, value in encoded.items()}


# --- joining the tokenizer to the encoder --------------------------------------------------


def join_tokenizer(tokenizer_content: bytes, encoder_content: bytes, renamed=None) -> bytes:
    """One flatbuffer: the tokenizer's ops, then the encoder's, fed its ids.

    Each encoder input is the tokenizer output of the same name (same dtype and shape). The
    signature takes the tokenizer's inputs and returns the encoder's outputs (names mapped by
    `renamed`) plus `ID_OUTPUTS`, so a verifier can check tokenization id for id. The encoder's
    tensors, buffers and op codes keep their indices; the tokenizer's are appended.
    """
    from ai_edge_litert.tools import flatbuffer_utils

    front = flatbuffer_utils.convert_bytearray_to_object(tokenizer_content)
    joined = flatbuffer_utils.convert_bytearray_to_object(encoder_content)
    if len(front.subgraphs) != 1 or len(joined.subgraphs) != 1:
        raise ValueError("joining needs single-subgraph models")
    front_graph, graph = front.subgraphs[0], joined.subgraphs[0]
    front_signature, signature = front.signatureDefs[0], joined.signatureDefs[0]
    front_outputs = {entry_name(m): m.tensorIndex for m in front_signature.outputs}
    # Tokenizer tensor index -> joined index: its id outputs become the encoder's inputs.
    tensors = {}
    for entry in signature.inputs:
        name = entry_name(entry)
        if name not in front_outputs:
            raise ValueError(f"encoder input {name!r} is not a tokenizer output")
        check_same_tensor(
            front_graph.tensors[front_outputs[name]], graph.tensors[entry.tensorIndex], name
        )
        tensors[front_outputs[name]] = entry.tensorIndex
    buffers = {0: 0}  # buffer 0 is the empty one activations point to, in every model
    for index, buffer in enumerate(front.buffers[1:], start=1):
        buffers[index] = len(joined.buffers)
        joined.buffers.append(buffer)
    for index, tensor in enumerate(front_graph.tensors):
        if index not in tensors:
            tensor.buffer = buffers[tensor.buffer]
            tensors[index] = len(graph.tensors)
            graph.tensors.append(tensor)
        elif front.buffers[tensor.buffer].data is not None:
            # An id output the converter folded to a constant (one text: segment_ids all 0)
            # has no op writing it: the encoder input takes its data.
            graph.tensors[tensors[index]].buffer = buffers[tensor.buffer]
    opcode_offset = len(joined.operatorCodes)
    joined.operatorCodes.extend(front.operatorCodes)
    for op in front_graph.operators:
        op.opcodeIndex += opcode_offset
        op.inputs = [tensors[i] if i >= 0 else i for i in op.inputs]
        op.outputs = [tensors[i] for i in op.outputs]
        if op.intermediates is not None:
            op.intermediates = [tensors[i] for i in op.intermediates]
    graph.operators = list(front_graph.operators) + list(graph.operators)

    graph.inputs = [tensors[i] for i in front_graph.inputs]
    id_outputs = [tensors[front_outputs[name]] for name in ID_OUTPUTS]
    graph.outputs = list(graph.outputs) + id_outputs
    for entry in front_signature.inputs:
        entry.tensorIndex = tensors[entry.tensorIndex]
    for entry in signature.outputs:
        entry.name = (renamed or {}).get(entry_name(entry), entry_name(entry))
    signature.inputs = front_signature.inputs
    signature.outputs = list(signature.outputs) + [
        tensor_map(name, index) for name, index in zip(ID_OUTPUTS, id_outputs)
    ]
    keep_newer_runtime_version(joined, front)
    unique_tensor_names(joined)
    return bytes(flatbuffer_utils.convert_object_to_bytearray(joined))


def split_tokenizer(tokenizer_content: bytes, encoder_content: bytes, renamed=None) -> bytes:
    """One flatbuffer with two signatures: the encoder's own (`serving_default`: ids in, its
    subgraphs first, unchanged) and `tokenize` (strings in, ids out: the tokenizer, appended
    as its own subgraph). An app runs `tokenize`, copies its ids into `serving_default` and
    runs that.

    Why two calls rather than one (`join_tokenizer`): TFLite re-prepares every op after one
    that resized a tensor during the invoke, and the tokenizer resizes its tensors for every
    text; in a joined graph that re-prepares the whole encoder (the XNNPACK delegate node
    included) on every call. An IF around the tokenizer does not isolate it either: the IF
    marks its outputs dynamic when its branch holds any dynamic tensor (TFLite's if.cc
    Prepare), so the encoder after it is re-prepared all the same.
    """
    from ai_edge_litert.tools import flatbuffer_utils

    front = flatbuffer_utils.convert_bytearray_to_object(tokenizer_content)
    model = flatbuffer_utils.convert_bytearray_to_object(encoder_content)
    if len(front.subgraphs) != 1:
        raise ValueError("the tokenizer must be a single-subgraph model")
    graph, tokenize = front.subgraphs[0], front.signatureDefs[0]
    encode = model.signatureDefs[0]
    encoder_inputs = model.subgraphs[encode.subgraphIndex].tensors
    front_outputs = {entry_name(entry): entry.tensorIndex for entry in tokenize.outputs}
    for entry in encode.inputs:
        name = entry_name(entry)
        if name not in front_outputs:
            raise ValueError(f"encoder input {name!r} is not a tokenizer output")
        check_same_tensor(
            graph.tensors[front_outputs[name]], encoder_inputs[entry.tensorIndex], name
        )
    pool = ConstantPool(model)
    for tensor in graph.tensors:
        tensor.buffer = pool.buffer(front.buffers[tensor.buffer])
    for op in graph.operators:
        op.opcodeIndex = pool.opcode(front.operatorCodes[op.opcodeIndex])
    graph.name = TOKENIZE.encode()
    model.subgraphs.append(graph)
    tokenize.subgraphIndex = len(model.subgraphs) - 1
    tokenize.signatureKey = TOKENIZE
    for entry in encode.outputs:
        entry.name = (renamed or {}).get(entry_name(entry), entry_name(entry))
    model.signatureDefs.append(tokenize)
    keep_newer_runtime_version(model, front)
    unique_tensor_names(model)
    return bytes(flatbuffer_utils.convert_object_to_bytearray(model))


def is_split(interpreter) -> bool:
    """Whether a loaded text model has the tokenizer as its own signature (`split_tokenizer`)."""
    return TOKENIZE in interpreter.get_signature_list()


def custom_op_histogram(flatbuffer: bytes) -> dict[str, int]:
    """{custom op name: number of uses} over all subgraphs of a .tflite flatbuffer."""
    model = _parse(flatbuffer)
    counts = Counter(
        model.operatorCodes[op.opcodeIndex].customCode
        for subgraph in model.subgraphs
        for op in subgraph.operators
    )
    return {code.decode(): n for code, n in sorted(counts.items(), key=str) if code is not None}


def tensor_type_histogram(flatbuffer: bytes) -> dict[str, int]:
    """{tensor type: count}, e.g. to see that an "int8" model really holds int8 activations."""
    from ai_edge_litert import schema_py_generated as schema

    names = {v: k for k, v in vars(schema.TensorType).items() if not k.startswith("_")}
    counts = Counter(
        names[tensor.type]
        for subgraph in _parse(flatbuffer).subgraphs
        for tensor in subgraph.tensors
    )
    return dict(sorted(counts.items()))


def _parse(flatbuffer: bytes):
    from ai_edge_litert import schema_py_generated as schema

    return schema.ModelT.InitFromPackedBuf(flatbuffer, 0)


# --- loading and verification --------------------------------------------------------------


def load_text_interpreter(model, num_threads: int = 1):
    """A LiteRT interpreter with tensorflow-text's TFLite kernels registered, tensors allocated.

    `model`: a .tflite path, or its bytes.
    """
    import tensorflow_text
    from ai_edge_litert.interpreter import InterpreterWithCustomOps

    source = {"model_content": model} if isinstance(model, bytes) else {"model_path": str(model)}
    interpreter = InterpreterWithCustomOps(
        custom_op_registerers=tensorflow_text.tflite_registrar.SELECT_TFTEXT_OPS,
        num_threads=num_threads,
        **source,
    )
    interpreter.allocate_tensors()
    return interpreter


def run_text_model(interpreter, texts: Sequence[str], text_pairs=None) -> dict[str, np.ndarray]:
    """Run the text model over all `texts` in chunks of its batch size; concatenated outputs
    (a split model: `tokenize`, then the encoder on its ids)."""
    runner = interpreter.get_signature_runner(SIGNATURE)
    front = interpreter.get_signature_runner(TOKENIZE) if is_split(interpreter) else runner
    batch = int(front.get_input_details()[TEXT]["shape_signature"][0])
    length = int(front.get_output_details()["token_ids"]["shape"][-1])
    batch = len(texts) if batch < 1 else batch
    chunks = []
    for begin in range(0, len(texts), batch):
        feeds = {TEXT: _chunk(texts, begin, batch)}
        if text_pairs is not None:
            feeds[TEXT_PAIR] = _chunk(text_pairs, begin, batch)
        outputs = front(**feeds)
        if front is not runner:  # split: the ids go into the encoder's signature
            ids = {name: outputs[name] for name in runner.get_input_details()}
            outputs = {**runner(**ids), **{name: outputs[name] for name in ID_OUTPUTS}}
        chunks.append(pad_token_outputs(outputs, length))
    return {name: np.concatenate([c[name] for c in chunks])[: len(texts)] for name in chunks[0]}


def _chunk(texts: Sequence[str], begin: int, size: int) -> np.ndarray:
    # A fixed-batch model needs full chunks: pad the last one with "" and drop those rows later.
    rows = list(texts[begin : begin + size])
    rows += [""] * (size - len(rows))
    return np.array([t.encode() for t in rows], dtype=object)


def verify_text_model(
    tflite,
    model,
    tokenizer,
    texts: Sequence[str],
    text_pairs: Sequence[str] | None = None,
    *,
    min_agreement: float = 1.0,
    max_abs_diff: float | None = 1e-4,
) -> dict:
    """Check a text .tflite (path or bytes) against `model(tokenizer(texts, text_pairs))`.

    Token and segment ids must match exactly; the outputs are compared as `export_tflite`
    compares them (`verification.parity`: per-token outputs on real tokens only). Returns the
    parity numbers, or raises TextModelParityError with them.
    """
    content = tflite if isinstance(tflite, bytes) else Path(tflite).read_bytes()
    limits = (min_agreement, max_abs_diff)
    numbers, failure = text_parity(content, model, tokenizer, texts, text_pairs, limits)
    if failure is not None:
        raise failure
    return numbers


def text_parity(content: bytes, model, tokenizer, texts, text_pairs, limits, lengths=None) -> tuple:
    """(parity numbers, TextModelParityError or None) of a text model on `texts`.

    Numbers: `verification.parity`'s plus `id_mismatches` ({id output: indices into texts}).
    """
    texts = list(texts)
    if text_pairs is not None and len(text_pairs) != len(texts):
        raise ValueError(f"{len(texts)} texts but {len(text_pairs)} text_pairs")
    got = run_text_model(load_text_interpreter(content), texts, text_pairs)
    batches = list(_id_batches(tokenizer, texts, None if text_pairs is None else list(text_pairs)))
    encoded = {name: np.concatenate([b[name] for b in batches]) for name in batches[0]}
    expected = [_as_dict(model(batch, training=False)) for batch in batches]
    expected = {name: np.concatenate([e[name] for e in expected]) for name in expected[0]}
    numbers, failure = parity(
        expected, {name: got[name] for name in expected}, encoded["padding_mask"], limits, lengths
    )
    numbers["id_mismatches"] = {
        name: np.flatnonzero((got[name] != encoded[name]).any(axis=-1)).tolist()
        for name in ID_OUTPUTS
    }
    problems = [
        f"{name} differ on {len(bad)} of {len(texts)} texts (first: {texts[bad[0]][:80]!r})"
        for name, bad in numbers["id_mismatches"].items()
        if bad
    ]
    if failure is not None:
        problems.append(str(failure))
    if not problems:
        return numbers, None
    numbers["passed"] = False
    return numbers, TextModelParityError(
        "TFLite text model does not match the Keras model on the Python tokenizer: "
        + "; ".join(problems)
    )


def _as_dict(outputs) -> dict[str, np.ndarray]:
    if isinstance(outputs, dict):
        return {name: np.asarray(value) for name, value in outputs.items()}
    return {"logits": np.asarray(outputs)}
