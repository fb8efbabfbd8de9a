"""Which student layer imitates which teacher layer (PKD "skip" / "last", or explicit)."""

from tfcompress.errors import ConfigError

LAYER_MAP_KINDS = ("skip", "last", "all")


def pkd_layer_map(kind, student_layers, teacher_layers):
    """Pairs (student_layer, teacher_layer), 1-based over *executed* layers.

    PKD distils the student's intermediate layers 1..k-1; the top layer is
    covered by the soft-target loss. "skip" takes every (n/k)-th teacher layer,
    "last" the teacher's top k-1 layers below its output layer. A 3-layer student
    of a 6-layer teacher: skip → (1,2), (2,4); last → (1,4), (2,5). "all" pairs every
    layer, the top one included, with the same layer of an equally deep teacher (a
    quantized copy of its float model: KDLSQ).
    """
    if kind not in LAYER_MAP_KINDS:
        raise ConfigError(
            f"layer_map: {kind!r} unknown; use one of {', '.join(LAYER_MAP_KINDS)} "
            "or an explicit list of [student, teacher] pairs"
        )
    if kind == "all":
        if student_layers != teacher_layers:
            raise ConfigError(
                f"layer_map: all pairs equally deep models; the student runs {student_layers} "
                f"layers, the teacher {teacher_layers}"
            )
        return [(i, i) for i in range(1, student_layers + 1)]
    if student_layers > teacher_layers:
        raise ConfigError(
            f"layer_map: the student runs {student_layers} layers, more than the teacher's "
            f"{teacher_layers}; give an explicit layer map"
        )
    if kind == "skip":
        if teacher_layers % student_layers:
            raise ConfigError(
                f"layer_map: skip needs teacher layers ({teacher_layers}) divisible by student "
                f"layers ({student_layers}); use last or an explicit map"
            )
        stride = teacher_layers // student_layers
        return [(i, i * stride) for i in range(1, student_layers)]
    offset = teacher_layers - student_layers
    return [(i, i + offset) for i in range(1, student_layers)]


def resolve_layer_map(spec, student_layers, teacher_layers):
    """A kind name, or explicit [[student, teacher], ...] pairs checked against both depths.

    Layer 0 is the embedding output, so explicit maps may include it.
    """
    if isinstance(spec, str):
        return pkd_layer_map(spec, student_layers, teacher_layers)
    pairs = [tuple(int(v) for v in pair) for pair in spec]
    for s, t in pairs:
        if not 0 <= s <= student_layers:
            raise ConfigError(f"layer_map: student layer {s} does not exist (0..{student_layers})")
        if not 0 <= t <= teacher_layers:
            raise ConfigError(f"layer_map: teacher layer {t} does not exist (0..{teacher_layers})")
    return pairs
