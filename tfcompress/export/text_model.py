"""TFLite text models: raw strings in, task outputs out, with the tokenizer inside the graph.

The graph runs tensorflow-text's FastBertNormalize and FastWordpieceTokenizeWithOffsets
(custom ops with TFLite kernels in `tensorflow_text.tflite_registrar`), then packs
`[CLS] a [SEP] (b [SEP])` with dense TFLite builtins. `WordPieceTokenizer.__call__` packs with
tensorflow-text's ragged ops instead (RoundRobinTrimmer, combine_segments, pad_model_inputs),
which lower to ops such as RaggedGather that have no TFLite kernel; it stays the reference
and `verify_text_model` checks the .tflite against it id for id.

Modes: "float", "dynamic" (int8 weights, float activations) and "int8" (int8 activations
calibrated on representative strings). All three convert with string inputs: quantization
only touches the float model part, and the calibrator is handed tensorflow-text's kernels
so it can run the tokenizer (see `convert_module`).
"""

import os
import tempfile
import warnings
from collections import Counter
from collections.abc import Sequence

import numpy as np
import tensorflow as tf

from tfcompress.atomic_write import write_bytes_atomic
from tfcompress.errors import TfcompressError

TEXT, TEXT_PAIR = "text", "text_pair"
ID_OUTPUTS = ("token_ids", "segment_ids")
MODES = ("float", "dynamic", "int8")
SIGNATURE = "serving_default"


class TextModelParityError(TfcompressError):
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


# --- module and conversion -----------------------------------------------------------------


def build_text_module(model, tokenizer, pair: bool = False, batch_size: int | None = 1):
    """A tf.Module whose `serve` maps strings [batch_size] to the model's outputs plus ids.

    Inputs are named `text` (and `text_pair` when `pair`). Outputs are the model's outputs
    (`logits` for a single-output model, else its output dict's keys) plus `token_ids` and
    `segment_ids` [batch_size, sequence_length]. batch_size=1 is what a phone runs;
    None leaves the batch dynamic.
    """
    _output_names(model)  # fail early on a name clash

    def run(text, text_pair=None):
        inputs = encode_for_tflite(tokenizer, text, text_pair)
        outputs = model(inputs, training=False)
        if not isinstance(outputs, dict):
            outputs = {"logits": outputs}
        # Ids as outputs let the verifier check tokenization exactly, not only via logits.
        return {**outputs, **{name: inputs[name] for name in ID_OUTPUTS}}

    module = tf.Module()
    # The tf.Variables behind the Keras 3 variables, tracked explicitly as Keras' own
    # ExportArchive does: tracking the Keras model or its keras.Variable wrappers instead
    # still saves a working SavedModel, but the converter then leaves the weights unfrozen
    # and the .tflite outputs NaN.
    module.model_variables = [v.value for v in model.variables]
    spec = tf.TensorSpec([batch_size], tf.string)
    if pair:
        module.serve = tf.function(run, input_signature=[spec, spec])
    else:
        module.serve = tf.function(lambda text: run(text), input_signature=[spec])
    return module


def _output_names(model) -> list[str]:
    names = list(model.output.keys()) if isinstance(model.output, dict) else ["logits"]
    clash = set(names) & set(ID_OUTPUTS)
    if clash:
        raise ValueError(f"model output(s) {sorted(clash)} clash with the text model's id outputs")
    return names


def convert_module(
    module: tf.Module,
    signatures: dict,
    mode: str = "float",
    custom_ops: bool = True,
    representative_dataset=None,
) -> bytes:
    """SavedModel → TFLite flatbuffer for a tf.Module's signature functions.

    Goes through a SavedModel because converting Keras 3 concrete functions directly leaves
    variables unfrozen (NaN outputs). `custom_ops` lets tensorflow-text ops through as
    custom ops; everything else must be a TFLite builtin (no Select TF ops on a phone).
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    if mode == "int8" and representative_dataset is None:
        raise ValueError('mode="int8" needs a representative_dataset to calibrate activations')
    with tempfile.TemporaryDirectory() as saved:
        tf.saved_model.save(module, saved, signatures=signatures)
        converter = tf.lite.TFLiteConverter.from_saved_model(saved, signature_keys=list(signatures))
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
        converter.allow_custom_ops = custom_ops
        if mode != "float":
            converter.optimizations = [tf.lite.Optimize.DEFAULT]
        if mode == "int8":
            converter.representative_dataset = representative_dataset
            # Calibration runs the float model, so the calibrator needs tensorflow-text's
            # kernels too; there is no public converter option for that.
            converter.target_spec._experimental_custom_op_registerers = _tftext_registerers()
        with warnings.catch_warnings():
            # The calibrator uses the deprecated tf.lite.Interpreter internally; not ours to fix.
            warnings.filterwarnings("ignore", message=".*tf.lite.Interpreter is deprecated")
            return converter.convert()


def _tftext_registerers() -> list:
    import tensorflow_text

    return list(tensorflow_text.tflite_registrar.SELECT_TFTEXT_OPS)


def export_text_model(
    model,
    tokenizer,
    output_path: str | os.PathLike,
    mode: str = "float",
    pair: bool = False,
    batch_size: int | None = 1,
    representative_texts: Sequence | None = None,
) -> dict:
    """Write a strings-in .tflite of `model` with `tokenizer` in the graph; return a report.

    mode: "float", "dynamic" (int8 weights, float activations) or "int8" (int8 activations
    calibrated on `representative_texts`: strings, or (text, text_pair) tuples when `pair`;
    float fallback is allowed, and quantize/dequantize ops border the encoder). Quantization
    only touches the float model part; string tensors, the tokenizer's custom ops and the
    int32 packing stay as they are. The file is written atomically. Report: path, mode,
    size_bytes, inputs, outputs, `custom_ops` ({op name: count}) and `tensor_types`.
    """
    module = build_text_module(model, tokenizer, pair=pair, batch_size=batch_size)
    dataset = None
    if mode == "int8":
        if not representative_texts:
            raise ValueError('mode="int8" needs representative_texts to calibrate activations')
        dataset = _representative_dataset(representative_texts, pair, batch_size)
    flatbuffer = convert_module(module, {SIGNATURE: module.serve}, mode, True, dataset)
    write_bytes_atomic(output_path, flatbuffer)
    return {
        "path": str(output_path),
        "mode": mode,
        "size_bytes": len(flatbuffer),
        "inputs": [TEXT, TEXT_PAIR] if pair else [TEXT],
        "outputs": _output_names(model) + list(ID_OUTPUTS),
        "custom_ops": custom_op_histogram(flatbuffer),
        "tensor_types": tensor_type_histogram(flatbuffer),
    }


def _representative_dataset(texts: Sequence, pair: bool, batch_size: int | None):
    def generate():
        for item in texts:
            rows = item if pair else (item,)
            yield {
                name: np.array([value.encode()] * (batch_size or 1), dtype=object)
                for name, value in zip((TEXT, TEXT_PAIR), rows)
            }

    return generate


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


def load_text_interpreter(path: str | os.PathLike, num_threads: int = 1):
    """A LiteRT interpreter with tensorflow-text's TFLite kernels registered, tensors allocated."""
    import tensorflow_text
    from ai_edge_litert.interpreter import InterpreterWithCustomOps

    interpreter = InterpreterWithCustomOps(
        custom_op_registerers=tensorflow_text.tflite_registrar.SELECT_TFTEXT_OPS,
        model_path=str(path),
        num_threads=num_threads,
    )
    interpreter.allocate_tensors()
    return interpreter


def run_text_model(interpreter, texts: Sequence[str], text_pairs=None) -> dict[str, np.ndarray]:
    """Run the text signature over all `texts` in chunks of its batch size; concatenated outputs."""
    runner = interpreter.get_signature_runner(SIGNATURE)
    batch = int(runner.get_input_details()[TEXT]["shape_signature"][0])
    batch = len(texts) if batch < 1 else batch
    chunks = []
    for begin in range(0, len(texts), batch):
        feeds = {TEXT: _chunk(texts, begin, batch)}
        if text_pairs is not None:
            feeds[TEXT_PAIR] = _chunk(text_pairs, begin, batch)
        chunks.append(runner(**feeds))
    return {name: np.concatenate([c[name] for c in chunks])[: len(texts)] for name in chunks[0]}


def _chunk(texts: Sequence[str], begin: int, size: int) -> np.ndarray:
    # A fixed-batch model needs full chunks: pad the last one with "" and drop those rows later.
    rows = list(texts[begin : begin + size])
    rows += [""] * (size - len(rows))
    return np.array([t.encode() for t in rows], dtype=object)


def verify_text_model(
    tflite_path: str | os.PathLike,
    model,
    tokenizer,
    texts: Sequence[str],
    text_pairs: Sequence[str] | None = None,
    atol: float | None = 1e-4,
    min_argmax_agreement: float = 1.0,
) -> dict:
    """Check a text .tflite against `model(tokenizer(texts, text_pairs))`; report or raise.

    Token and segment ids must match exactly; each model output must be within `atol`
    (None skips it) and agree on argmax over the last axis for at least `min_argmax_agreement`
    of rows (of positions, for per-token outputs). Report: `id_mismatches` (indices into
    `texts`), `max_abs_diff` and `argmax_agreement` per output. Raises TextModelParityError
    with the numbers.
    """
    texts = list(texts)
    if text_pairs is not None and len(text_pairs) != len(texts):
        raise ValueError(f"{len(texts)} texts but {len(text_pairs)} text_pairs")
    got = run_text_model(load_text_interpreter(tflite_path), texts, text_pairs)
    encoded = tokenizer(tf.constant(texts), None if text_pairs is None else tf.constant(text_pairs))
    expected = model(encoded, training=False)
    expected = expected if isinstance(expected, dict) else {"logits": expected}
    report = {"num_texts": len(texts), "id_mismatches": {}, "max_abs_diff": {}}
    report["argmax_agreement"] = {}
    for name in ID_OUTPUTS:
        bad = np.flatnonzero((got[name] != encoded[name].numpy()).any(axis=-1))
        report["id_mismatches"][name] = bad.tolist()  # indices into `texts`
    for name, value in expected.items():
        value = np.asarray(value)
        report["max_abs_diff"][name] = float(np.max(np.abs(got[name] - value), initial=0.0))
        agree = got[name].argmax(-1) == value.argmax(-1)
        report["argmax_agreement"][name] = float(agree.mean()) if agree.size else 1.0
    _raise_on_failure(report, texts, atol, min_argmax_agreement)
    return report


def _raise_on_failure(report: dict, texts: list[str], atol: float | None, min_agreement):
    problems = [
        f"{name} differ on {len(bad)} of {len(texts)} texts (first: {texts[bad[0]][:80]!r})"
        for name, bad in report["id_mismatches"].items()
        if bad
    ]
    problems += [
        f"{name} max abs diff {diff:.3g} > atol {atol:g}"
        if np.isfinite(diff)
        else f"{name} holds NaN or inf (weights left unfrozen?)"
        for name, diff in report["max_abs_diff"].items()
        if not np.isfinite(diff) or (atol is not None and diff > atol)
    ]
    problems += [
        f"{name} argmax agreement {agree:.3f} < {min_agreement:g}"
        for name, agree in report["argmax_agreement"].items()
        if agree < min_agreement
    ]
    if problems:
        raise TextModelParityError(
            "TFLite text model does not match the Keras model on the Python tokenizer: "
            + "; ".join(problems)
        )
