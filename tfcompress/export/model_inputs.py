"""Plausible inputs for a converted model, for timing and profiling when no data is given."""

import numpy as np

# Any vocabulary a real model uses has at least this many entries ([PAD] [UNK] [CLS] [SEP]...).
_SAFE_TOKEN_ID_LIMIT = 100


def example_inputs(interpreter, sequence_fill=1.0, seed=0) -> dict:
    """Inputs keyed by signature input name: valid token ids, all-real-token padding mask.

    `sequence_fill` is the fraction of positions holding real tokens (the rest is padding).
    """
    rng = np.random.default_rng(seed)
    details = _signature_input_details(interpreter)
    feed = {}
    for name, detail in details.items():
        shape, dtype = tuple(detail["shape"]), detail["dtype"]
        length = shape[-1] if shape else 1
        real = max(1, int(round(length * sequence_fill)))
        if "mask" in name:
            value = np.zeros(shape, dtype)
            value[..., :real] = 1
        elif "segment" in name or "type" in name:
            value = np.zeros(shape, dtype)
        elif np.issubdtype(dtype, np.integer):
            value = rng.integers(1, _SAFE_TOKEN_ID_LIMIT, size=shape).astype(dtype)
            value[..., real:] = 0
        elif dtype == np.object_ or dtype == np.bytes_:
            value = np.array([b"a short example sentence"] * int(np.prod(shape) or 1))
        else:
            value = rng.standard_normal(shape).astype(dtype)
        feed[name] = value
    return feed


def _signature_input_details(interpreter) -> dict:
    signatures = interpreter.get_signature_list()
    if signatures:
        runner = interpreter.get_signature_runner()
        return runner.get_input_details()
    return {d["name"]: d for d in interpreter.get_input_details()}
