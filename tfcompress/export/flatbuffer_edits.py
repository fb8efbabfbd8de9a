"""Small edits shared by the passes that join .tflite flatbuffers (object API, `ModelT`)."""

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
