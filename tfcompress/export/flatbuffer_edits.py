"""Small edits shared by the passes that join .tflite flatbuffers (object API, `ModelT`)."""

import hashlib

import numpy as np


def entry_name(entry) -> str:
    """A signature entry's (or tensor's) name as str."""
    name = entry.name
    return name.decode() if isinstance(name, bytes) else name


def tensor_map(name: str, index: int):
    """A signature entry: `name` → tensor `index`."""
    from ai_edge_litert import schema_py_generated as schema

    entry = schema.TensorMapT()
    entry.name, entry.tensorIndex = name, index
    return entry


def check_same_tensor(giver, taker, name: str) -> None:
    """ValueError unless tensor `taker` can be fed from tensor `giver` (type and shape)."""
    shape_giver = giver.shapeSignature if giver.shapeSignature is not None else giver.shape
    shape_taker = taker.shapeSignature if taker.shapeSignature is not None else taker.shape
    if giver.type != taker.type or list(shape_giver) != list(shape_taker):
        raise ValueError(
            f"{name}: one part gives type {giver.type} shape {list(shape_giver)}, the next "
            f"takes type {taker.type} shape {list(shape_taker)}"
        )


def keep_newer_runtime_version(joined, other) -> None:
    """`min_runtime_version` metadata of `joined`: the newer of the two (it runs both)."""
    versions = {}
    for model in (joined, other):
        for entry in model.metadata or []:
            if entry_name(entry) == "min_runtime_version":
                versions[id(model)] = (entry, model.buffers[entry.buffer])
    if len(versions) < 2:
        return
    (entry, mine), (_, theirs) = versions[id(joined)], versions[id(other)]
    if _version(theirs) > _version(mine):
        joined.buffers[entry.buffer].data = theirs.data


def _version(buffer) -> tuple:
    text = bytes(np.asarray(buffer.data, np.uint8)).split(b"\0")[0].decode()
    return tuple(int(part) for part in text.split(".") if part.isdigit())


def unique_tensor_names(model) -> None:
    """Suffix repeated tensor names (`name#2`, ...) across all subgraphs: tools such as
    ai-edge-quantizer key tensors by name, and joined graphs repeat the converters' names."""
    seen = set()
    for graph in model.subgraphs:
        for tensor in graph.tensors:
            name, count = tensor.name or b"tensor", 1
            while name in seen:
                count += 1
                name = (tensor.name or b"tensor") + f"#{count}".encode()
            tensor.name = name
            seen.add(name)


class ConstantPool:
    """The joined model's buffers and op codes, each added once: equal constants (the
    buckets' shared weights) end up in one buffer."""

    def __init__(self, model):
        self.model = model
        self._buffers = {}
        for index, buffer in enumerate(model.buffers):
            if _has_data(buffer):
                self._buffers.setdefault(_digest(buffer), index)
        self._opcodes = {_opcode_key(code): i for i, code in enumerate(model.operatorCodes)}

    def buffer(self, buffer) -> int:
        if not _has_data(buffer):
            return 0  # buffer 0 is the empty one activations point to, in every model
        return _intern(self._buffers, _digest(buffer), self.model.buffers, buffer)

    def opcode(self, code) -> int:
        return _intern(self._opcodes, _opcode_key(code), self.model.operatorCodes, code)

    def builtin(self, builtin) -> int:
        from ai_edge_litert import schema_py_generated as schema

        code = schema.OperatorCodeT()
        code.builtinCode = builtin
        code.deprecatedBuiltinCode = min(
            builtin, schema.BuiltinOperator.PLACEHOLDER_FOR_GREATER_OP_CODES
        )
        code.version = 1
        return self.opcode(code)


def _intern(index: dict, key, items: list, item) -> int:
    """The position of `key`'s item in `items`, appending `item` the first time."""
    if key not in index:
        items.append(item)
        index[key] = len(items) - 1
    return index[key]


def _has_data(buffer) -> bool:
    return buffer.data is not None and len(buffer.data) > 0


def _digest(buffer) -> bytes:
    return hashlib.sha256(np.asarray(buffer.data, np.uint8).tobytes()).digest()


def _opcode_key(code):
    return (code.builtinCode, code.deprecatedBuiltinCode, code.customCode, code.version)
