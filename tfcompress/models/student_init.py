"""Initialize a student encoder from a teacher's variables, matched by name (PKD: the
teacher's first k blocks)."""

import re

from tfcompress.errors import ConfigError

# A student may have its own word table (a narrower one with an up-projection, or another
# vocabulary); every other variable both have must agree in shape.
MAY_DIFFER = ("embeddings/word_embeddings",)

_BLOCK = re.compile(r"^block_(\d+)/")


def encoder_variables(encoder):
    """{name inside the encoder: variable}, e.g. "block_0/attention/query/kernel"."""
    prefix = f"{encoder.name}/"
    return {variable.path.split(prefix, 1)[-1]: variable for variable in encoder.weights}


def init_from_teacher(student_encoder, teacher_encoder, teacher_layers=None):
    """Copies every teacher variable the student has under the same name; student block i
    takes teacher block `teacher_layers[i]` (default: the first k, 0-based).

    Variables the teacher has no counterpart for (quantizer steps, an embedding
    up-projection) and a word table of another shape keep their initial values. SPS
    views own no variables, so they reuse what their base blocks received.

    Returns {"copied": [names], "kept": [names left as initialized]}.
    """
    for encoder in (student_encoder, teacher_encoder):
        if not encoder.built:
            encoder.build()
    block_map = _block_map(student_encoder, teacher_encoder, teacher_layers)
    teacher = encoder_variables(teacher_encoder)
    pairs, kept = [], []
    for name, variable in encoder_variables(student_encoder).items():
        source = teacher.get(_BLOCK.sub(lambda m: f"block_{block_map[int(m[1])]}/", name))
        if source is None or (name in MAY_DIFFER and source.shape != variable.shape):
            kept.append(name)
        elif source.shape != variable.shape:
            raise ConfigError(
                f"student: cannot initialize {name} from the teacher: shape "
                f"{tuple(variable.shape)} vs the teacher's {tuple(source.shape)}; use "
                "init: scratch or the teacher's widths"
            )
        else:
            pairs.append((name, variable, source))
    # Every shape is checked before anything is assigned: an error leaves the student as it was.
    for _, variable, source in pairs:
        variable.assign(source)
    return {"copied": [name for name, _, _ in pairs], "kept": kept}


def _block_map(student_encoder, teacher_encoder, teacher_layers):
    k, available = len(student_encoder.blocks), len(teacher_encoder.blocks)
    teacher_layers = list(range(k)) if teacher_layers is None else list(teacher_layers)
    if len(teacher_layers) != k or max(teacher_layers) >= available:
        raise ConfigError(
            f"student: {k} blocks cannot take teacher blocks {teacher_layers}; the teacher has "
            f"{available}"
        )
    return dict(enumerate(teacher_layers))
