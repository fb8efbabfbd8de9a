"""Store a .tflite's low-bit FULLY_CONNECTED weights packed: INT4 (two per byte) or INT2 (four).

A `qat` export of an LSQ run holds each kernel's trained codes in int8 tensors: at 4 bits the
codes are −7…7, at 2 bits −1…1. LiteRT's FULLY_CONNECTED takes INT4 and INT2 filters beside
int8 activations and unpacks them to the same int8 values, so rewriting those tensors changes
the file's size and nothing it computes (the export's parity check runs on the packed file).

Only FULLY_CONNECTED filters are packed. The word table stays int8: ai-edge-litert 2.3's GATHER
reads an INT4 table correctly but its later ops then compute wrong, run-to-run different
outputs (checked on a 4-4-8 MiniLM export), so a packed table is not safe to ship.
"""

import numpy as np

# TFLite builtin operator code of FULLY_CONNECTED; its filter is input 1.
_FULLY_CONNECTED = 9
_FILTER_INPUT = 1
# The op version TFLite's versioning gives an int8 FULLY_CONNECTED with an INT4 filter (no
# version names INT2 filters): a runtime that predates sub-byte filters refuses the model
# instead of reading packed bytes as int8.
_PACKED_FILTER_VERSION = 10
WEIGHT_BITS = (2, 4)


def store_low_bit_weights(content: bytes, bits: int) -> tuple[bytes, dict]:
    """(`content` with every int8 FULLY_CONNECTED filter whose codes fit a signed `bits`-bit
    integer stored packed at that width, a summary). A filter at 2-bit codes is packed to
    INT2 only when `bits` is 2: LiteRT runs INT4 filters at int8 speed and INT2 ones slower
    (docs/results.md), so 4 packs every filter that fits 4 bits, 2 bits included.
    ValueError when no filter fits: the model was not trained at `bits` bits or below."""
    from ai_edge_litert import schema_py_generated as schema
    from ai_edge_litert.tools import flatbuffer_utils

    if bits not in WEIGHT_BITS:
        raise ValueError(f"weight bits {bits}: packed storage is 2 or 4 bits")
    model = flatbuffer_utils.convert_bytearray_to_object(bytearray(content))
    users = _buffer_users(model)
    packed = {2: 0, 4: 0}
    saved = 0
    for buffer_index, tensors in users.items():
        codes = _filter_codes(model, buffer_index, tensors, schema.TensorType.INT8)
        if codes is None:
            continue
        width = _narrowest_width(codes, bits)
        if width is None:
            continue
        data = _pack(codes, width)
        saved += codes.size - data.size
        model.buffers[buffer_index].data = data
        for tensor, _ in tensors:
            tensor.type = schema.TensorType.INT4 if width == 4 else schema.TensorType.INT2
        packed[width] += 1
    if not any(packed.values()):
        raise ValueError(
            f"no FULLY_CONNECTED weight of this model fits {bits} bits: packed storage is for "
            f"`qat` exports of runs quantized at {bits} bits or below (quantization.scheme)"
        )
    _require_version(model, _FULLY_CONNECTED, _PACKED_FILTER_VERSION)
    summary = {
        "bits": bits,
        "int4_buffers": packed[4],
        "int2_buffers": packed[2],
        "bytes_saved": int(saved),
    }
    return bytes(flatbuffer_utils.convert_object_to_bytearray(model)), summary


def _require_version(model, builtin, version) -> None:
    """Every op code of `builtin` at `version` or later (op codes are shared by its ops)."""
    for code in model.operatorCodes:
        if max(code.builtinCode, code.deprecatedBuiltinCode) == builtin:
            code.version = max(code.version, version)


def _buffer_users(model) -> dict:
    """buffer index → [(tensor, is a FULLY_CONNECTED filter)] over every subgraph: a buffer
    can hold the weights of several tensors (length buckets share them)."""
    users = {}
    for graph in model.subgraphs:
        filters, other_uses = set(), set()
        for op in graph.operators:
            code = model.operatorCodes[op.opcodeIndex]
            is_fc = max(code.builtinCode, code.deprecatedBuiltinCode) == _FULLY_CONNECTED
            for position, index in enumerate(op.inputs):
                uses = filters if is_fc and position == _FILTER_INPUT else other_uses
                uses.add(int(index))
        for index, tensor in enumerate(graph.tensors):
            if tensor.buffer:
                is_filter = index in filters and index not in other_uses
                users.setdefault(tensor.buffer, []).append((tensor, is_filter))
    return users


def _filter_codes(model, buffer_index, tensors, int8_type):
    """The buffer's int8 codes when every tensor holding it is an int8 FULLY_CONNECTED filter
    with zero points 0 (what the packed types require), else None."""
    if not all(is_filter and tensor.type == int8_type for tensor, is_filter in tensors):
        return None
    for tensor, _ in tensors:
        zero_points = tensor.quantization.zeroPoint if tensor.quantization else None
        if zero_points is None or np.any(np.asarray(zero_points) != 0):
            return None
    data = model.buffers[buffer_index].data
    if data is None or len(data) == 0:
        return None
    return np.asarray(data, np.uint8).view(np.int8)


def _narrowest_width(codes, bits):
    """The packed width for `codes` under `bits`: 2 when `bits` is 2 and they fit, 4 when
    `bits` is 4 and they fit, else None."""
    low, high = int(codes.min()), int(codes.max())
    if bits == 2 and -2 <= low and high <= 1:
        return 2
    if -8 <= low and high <= 7:
        return 4 if bits == 4 else None
    return None


def _pack(codes, width):
    """Little-endian packing, as LiteRT unpacks: element i in bits (i mod k)·width of byte
    i // k, k = 8 / width, the last byte zero-padded."""
    per_byte = 8 // width
    padded = np.zeros(-(-codes.size // per_byte) * per_byte, np.uint8)
    padded[: codes.size] = codes.astype(np.uint8) & ((1 << width) - 1)
    groups = padded.reshape(-1, per_byte)
    shifts = np.arange(per_byte, dtype=np.uint8) * width
    return np.bitwise_or.reduce(groups << shifts, axis=1).astype(np.uint8)


__all__ = ["WEIGHT_BITS", "store_low_bit_weights"]
