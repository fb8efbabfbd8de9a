"""Inputs for timing: synthetic ones a BERT-style model accepts, sized to the model's
embedding table where it can be read, or the caller's own, checked against the model."""

import numpy as np

from tfcompress.latency.errors import LatencyError

# Android's benchmark_model fills int32 inputs uniformly in [0, 99]; the host runner uses the
# same range so both feed comparable ids, and stays below any realistic vocabulary size.
MAX_TOKEN_ID = 100
# A dynamic (-1) non-batch dimension, e.g. a sequence axis, is given this size.
DYNAMIC_DIM = 128
SAMPLE_SENTENCE = "The quick brown fox jumps over the lazy dog near the river bank."


def _concrete_shape(detail):
    """Batch 1 for a dynamic first axis, DYNAMIC_DIM for other dynamic axes."""
    signature = detail.get("shape_signature")
    dims = list(detail["shape"] if signature is None or len(signature) == 0 else signature)
    return tuple(
        (1 if axis == 0 else DYNAMIC_DIM) if d < 0 else int(d) for axis, d in enumerate(dims)
    )


def _is_string(dtype):
    return np.dtype(dtype).kind in "SUO"


def _role(name):
    """What an integer input holds, from its name (token_ids, padding_mask, segment_ids...)."""
    lowered = name.lower()
    if "mask" in lowered:
        return "mask"
    if "segment" in lowered or "type_ids" in lowered:
        return "segment"
    return "ids"


def make_inputs(input_details, seed=0, vocab_size=None, real_tokens=None):
    """Synthetic inputs a BERT-style model accepts.

    Token ids lie in [1, min(100, vocab_size)) so they are never out of vocabulary,
    padding masks are all ones, segment ids zeros, floats standard normal, and string
    inputs (models with an in-graph tokenizer) a fixed English sentence. `real_tokens`:
    only the first that many positions are real (mask 1, ids set), the rest padding (0),
    as a sentence of that length is fed; a length-bucketed model then runs its bucket.

    input_details: name -> dict with "shape", "shape_signature" and "dtype", as returned
    by a signature runner's get_input_details().
    """
    rng = np.random.default_rng(seed)
    high = min(MAX_TOKEN_ID, vocab_size) if vocab_size else MAX_TOKEN_ID
    inputs = {}
    for name, detail in input_details.items():
        shape, dtype = _concrete_shape(detail), np.dtype(detail["dtype"])
        if _is_string(dtype):
            inputs[name] = np.full(shape, SAMPLE_SENTENCE.encode(), dtype=object)
        elif dtype == np.bool_:
            inputs[name] = np.ones(shape, dtype)
        elif dtype.kind == "f":
            inputs[name] = rng.standard_normal(shape).astype(dtype)
        elif _role(name) == "mask":
            inputs[name] = np.ones(shape, dtype)
        elif _role(name) == "segment":
            inputs[name] = np.zeros(shape, dtype)
        else:
            top = min(high, int(np.iinfo(dtype).max) + 1)
            inputs[name] = rng.integers(min(1, top - 1), top, shape).astype(dtype)
        if real_tokens is not None and dtype.kind in "iu" and _role(name) != "segment":
            inputs[name][..., real_tokens:] = 0
    return inputs


def _embedding_rows(interp, token_tensor, depth=6):
    """Rows of the embedding table gathered by `token_tensor`, or None.

    Walks back from each GATHER's indices through a few producing ops (Keras adds a
    clamp/select before the lookup). Uses the interpreter's private op listing, so any
    failure just means "unknown" and the caller falls back to ids < MAX_TOKEN_ID.
    """
    try:
        ops = interp._get_ops_details()
        producer = {int(t): op for op in ops for t in op["outputs"]}
        rows = []
        for op in ops:
            if op["op_name"] not in ("GATHER", "EMBEDDING_LOOKUP"):
                continue
            params, indices = op["inputs"][:2]
            if op["op_name"] == "EMBEDDING_LOOKUP":
                params, indices = indices, params
            if _derives_from(int(indices), token_tensor, producer, depth):
                rows.append(int(interp._get_tensor_details(int(params), 0)["shape"][0]))
        return min(rows) if rows else None
    except Exception:
        return None


def _derives_from(tensor, source, producer, depth):
    frontier = {tensor}
    for _ in range(depth + 1):
        if source in frontier:
            return True
        frontier = {int(t) for x in frontier if x in producer for t in producer[x]["inputs"]}
    return False


def default_inputs(session, seed, real_tokens=None):
    """make_inputs() for a loaded InterpreterSession, with token ids kept below the smallest
    embedding table they index (a GATHER fails on an out-of-range id)."""
    token_names = [
        n
        for n, d in session.details.items()
        if np.dtype(d["dtype"]).kind in "iu" and _role(n) == "ids"
    ]
    rows = [_embedding_rows(session.interp, int(session.details[n]["index"])) for n in token_names]
    known = [r for r in rows if r]
    return make_inputs(session.details, seed, min(known) if known else None, real_tokens)


def check_inputs(inputs, session):
    """The caller's inputs as arrays; LatencyError unless their names are the model's."""
    expected = set(session.details)
    if set(inputs) != expected:
        raise LatencyError(
            f"inputs {sorted(inputs)} do not match the model's inputs {sorted(expected)}"
        )
    return {name: np.asarray(value) for name, value in inputs.items()}


def describe_inputs(inputs):
    """Name, shape and dtype of each input, sorted by name, for the report."""
    return [
        {"name": name, "shape": list(value.shape), "dtype": str(value.dtype)}
        for name, value in sorted(inputs.items())
    ]
