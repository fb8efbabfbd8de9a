"""Initialize a student encoder from a teacher's layers (PKD: the teacher's first k)."""

from tfcompress.errors import ConfigError


def _copy(target_layer, source_layer, what):
    target, source = target_layer.weights, source_layer.weights
    shapes = [tuple(w.shape) for w in target], [tuple(w.shape) for w in source]
    if shapes[0] != shapes[1]:
        raise ConfigError(
            f"student: cannot initialize {what} from the teacher: shapes {shapes[0]} vs "
            f"{shapes[1]}; use init: scratch or the teacher's widths"
        )
    for t, s in zip(target, source, strict=True):
        t.assign(s)


def init_from_teacher(student_encoder, teacher_encoder, teacher_layers=None):
    """Copies embeddings, pooler and blocks: student block i ← teacher block teacher_layers[i].

    `teacher_layers` defaults to the first k (0-based block indices). Only the
    student's parameter blocks are copied; SPS reuses them as its plan says.
    """
    for encoder in (student_encoder, teacher_encoder):
        if not encoder.built:
            encoder.build()
    k = len(student_encoder.blocks)
    teacher_layers = list(range(k)) if teacher_layers is None else list(teacher_layers)
    if len(teacher_layers) != k or max(teacher_layers) >= len(teacher_encoder.blocks):
        raise ConfigError(
            f"student: {k} blocks cannot take teacher blocks {teacher_layers}; the teacher has "
            f"{len(teacher_encoder.blocks)}"
        )
    _copy(student_encoder.embeddings, teacher_encoder.embeddings, "the embeddings")
    _copy(student_encoder.pooler, teacher_encoder.pooler, "the pooler")
    for i, t in enumerate(teacher_layers):
        _copy(student_encoder.blocks[i], teacher_encoder.blocks[t], f"block {i}")
