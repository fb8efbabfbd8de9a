"""A trained task model's LSQ-quantized copy: scheme, steps from data, packed size."""

import dataclasses
import re

import numpy as np

from tfcompress.errors import ConfigError
from tfcompress.layers.lsq_quantizer import LsqQuantizer, recording_inputs, step_from_values
from tfcompress.models.encoder import Encoder
from tfcompress.models.task_models import TaskModel

_SCHEME = re.compile(r"^(\d+)-(\d+)-(\d+)$")


@dataclasses.dataclass(frozen=True)
class QuantizationScheme:
    """Bit widths in KDLSQ's W-E-A notation: transformer weights, word embedding, activations.

    Args:
        weight_bits: int in [2, 8], every transformer projection kernel.
        embedding_bits: int in [2, 8], the word table.
        activation_bits: int in [2, 8], every projection input and both attention
            matmuls' operands.

    Example:

    ```python
    QuantizationScheme.parse("2-2-8")  # 2-bit weights and word table, 8-bit activations
    ```
    """

    weight_bits: int
    embedding_bits: int
    activation_bits: int

    @classmethod
    def parse(cls, text, where="quantization.scheme"):
        match = _SCHEME.match(str(text).strip())
        if not match:
            raise ConfigError(
                f"{where}: {text!r} is not a W-E-A scheme; write three bit widths for weights, "
                'word embedding and activations, e.g. "2-2-8" or "8-8-8"'
            )
        bits = [int(part) for part in match.groups()]
        for name, value in zip(("weight", "embedding", "activation"), bits, strict=True):
            if not 2 <= value <= 8:
                raise ConfigError(
                    f"{where}: {name} bits must be in [2, 8], got {value} in {text!r}"
                )
        return cls(*bits)

    def __str__(self):
        return f"{self.weight_bits}-{self.embedding_bits}-{self.activation_bits}"


# Truncation ratio γ by bit width when a recipe gives none: the γ with the least squared
# quantization error on every MiniLM layer-0 projection kernel (2 bits 0.2, 3 bits 0.03,
# 4 bits 0.01, 8 bits 1e-4; the others in between).
DEFAULT_TRUNCATION = {2: 0.2, 3: 0.03, 4: 0.01, 5: 0.003, 6: 0.001, 7: 3e-4, 8: 1e-4}


@dataclasses.dataclass(frozen=True)
class StepInitialization:
    """How the LSQ steps start.

    `algorithm1` (KDLSQ Algorithm 1): the clip is the |value| with a share
    `weight_truncation` / `activation_truncation` of the values above it, from the
    float weights and from one training batch's activations; the step is clip / Qp.
    `None` takes `DEFAULT_TRUNCATION` for the quantizer's bit width.
    `constant`: every weight clip is `weight_clip` and every activation clip
    `activation_clip` (the paper's "experience values" 4.0 and 16.0, read as clips).
    """

    method: str = "algorithm1"
    weight_truncation: float | None = None
    activation_truncation: float | None = None
    weight_clip: float = 4.0
    activation_clip: float = 16.0

    def truncation(self, quantizer):
        """γ for one quantizer: the configured one for its kind, else its bit width's default."""
        ratio = self.weight_truncation if quantizer.kind == "weight" else self.activation_truncation
        return DEFAULT_TRUNCATION[quantizer.bits] if ratio is None else ratio

    def __post_init__(self):
        if self.method not in ("algorithm1", "constant"):
            raise ConfigError(
                f"quantization.init: {self.method!r} unknown; use algorithm1 or constant"
            )
        for key in ("weight_truncation", "activation_truncation"):
            if getattr(self, key) is not None and not 0.0 <= getattr(self, key) < 1.0:
                raise ConfigError(
                    f"quantization.{key}: must be in [0, 1), got {getattr(self, key)}"
                )
        for key in ("weight_clip", "activation_clip"):
            if not getattr(self, key) > 0:
                raise ConfigError(f"quantization.{key}: must be positive, got {getattr(self, key)}")


def quantized_copy(model, scheme, per_channel=False, init=None):
    """A copy of the task model `model` with LSQ quantizers in every slot the scheme names
    (`per_channel`: one step per output channel of each transformer kernel; the word table
    always has one step).

    Quantized: every transformer projection kernel (`scheme.weight_bits`) and input, both
    attention matmuls' operands, the outputs of the projections that feed float ops
    (`activation_bits`) and the word table (`embedding_bits`).
    Position and segment tables, biases, LayerNorms, softmax, pooler and head stay float.
    The copy holds `model`'s weights; its steps start at `init`'s constant clips (call
    `initialize_steps` for Algorithm 1).
    """
    encoder = getattr(model, "encoder", None)
    if not isinstance(model, TaskModel) or not isinstance(encoder, Encoder):
        raise ConfigError(
            f"source: {type(model).__name__} has no tfcompress Encoder, so no quantizer slots; "
            "quantize a model trained by tfcompress finetune or distill"
        )
    already = [
        name
        for name in (
            "weight_quantizer",
            "activation_quantizer",
            "embedding_quantizer",
            "output_quantizer",
        )
        if not getattr(encoder, name).is_identity
    ]
    if already:
        raise ConfigError(
            f"source: the model is already quantized ({', '.join(already)}); quantize its float "
            "source run instead"
        )
    init = init or StepInitialization()
    copy_encoder = Encoder(
        encoder.config,
        **_quantizers(scheme, per_channel, init),
        dtype=encoder.dtype_policy,
        name=encoder.name,
    )
    head = type(model.head).from_config(model.head.get_config())
    copy = TaskModel(copy_encoder, head, model.sequence_length, name=model.name)
    _copy_weights(model, copy)
    return copy


def _quantizers(scheme, per_channel, init):
    def weight(bits, per_channel):
        qp = 2 ** (bits - 1) - 1
        return LsqQuantizer(
            bits, "weight", per_channel=per_channel, initial_step=init.weight_clip / qp
        )

    def activation():
        qp = 2 ** (scheme.activation_bits - 1) - 1
        return LsqQuantizer(scheme.activation_bits, initial_step=init.activation_clip / qp)

    return {
        "weight_quantizer": weight(scheme.weight_bits, per_channel),
        # TFLite's GATHER reads an int8 table at one scale: the word table has one step.
        "embedding_quantizer": weight(scheme.embedding_bits, per_channel=False),
        "activation_quantizer": activation(),
        # Integer kernels write int8 outputs; quantizing them here too keeps the export's
        # attention-output, intermediate and output FCs on grids the model trained with.
        "output_quantizer": activation(),
    }


def _copy_weights(source, target):
    targets = {variable.path: variable for variable in target.weights}
    missing = [v.path for v in source.weights if v.path not in targets]
    if missing:
        raise ConfigError(f"source: the quantized copy has no place for {missing[0]}")
    for variable in source.weights:
        targets[variable.path].assign(variable)


def initialize_steps(model, inputs, init):
    """KDLSQ Algorithm 1 on `model`'s LSQ steps: weights from their float values, activations
    from the float model's activations on `inputs` (one batch). Returns {step path: value}."""
    with recording_inputs() as records:
        model(inputs, training=False)
    steps = {}
    for quantizer, values, step in records:
        if step.path in steps:  # a shared weight, recorded once per run
            continue
        ratio = init.truncation(quantizer)
        axis = -1 if quantizer.per_channel else None
        value = step_from_values(np.asarray(values), quantizer.levels[1], ratio, axis=axis)
        step.assign(np.asarray(value, "float32").reshape(step.shape))
        steps[step.path] = value
    return steps


def lsq_steps(model):
    """{path: variable} of every LSQ step in `model`."""
    return {
        v.path: v for v in model.weights if v.name.endswith(("_weight_step", "_activation_step"))
    }


def float_copy_on_grid(model):
    """A float copy of the LSQ model `model` (no quantizers) whose quantized weights hold their
    trained grid values k·s: the model a weight-only low-bit format should store."""
    encoder = model.encoder
    float_encoder = Encoder(encoder.config, dtype=encoder.dtype_policy, name=encoder.name)
    head = type(model.head).from_config(model.head.get_config())
    copy = TaskModel(float_encoder, head, model.sequence_length, name=model.name)
    targets = {variable.path: variable for variable in copy.weights}
    for variable in model.weights:
        if variable.path in targets:
            targets[variable.path].assign(variable)
    for quantizer, tensor, weights in _lsq_slots(model):
        targets[tensor.path].assign(quantizer(tensor, True, weights))
    return copy


def lsq_weight_grids(model):
    """[(codes (out, in), steps (out,))] of every owned LSQ kernel: the int8 tensors an
    integer export must hold (TFLite stores FC weights transposed, one scale per row)."""
    grids = []
    for quantizer, tensor, weights in _lsq_slots(model):
        if tensor.name != "kernel":  # the word table is a GATHER, not an FC
            continue
        step = np.maximum(np.abs(np.asarray(weights["step"], np.float64)), 1e-8)
        qn, qp = quantizer.levels
        # The codes inference computes (its FakeQuant): a value within float error of a
        # rounding tie can land on the other code than plain division would put it.
        inferred = np.asarray(quantizer(tensor, False, weights), np.float64)
        codes = np.clip(np.round(inferred / step), -qn, qp)
        grids.append((codes.T, np.broadcast_to(step, (codes.shape[1],)).copy()))
    return grids


def packed_size_bytes(model):
    """Bytes of the weights stored at their bit widths: each quantized tensor at its grid's
    bits, everything else (biases, LayerNorms, position tables, head) at 32 and the steps too."""
    bits_of = {tensor.path: quantizer.bits for quantizer, tensor, _ in _lsq_slots(model)}
    total_bits = sum(
        int(np.prod(v.shape)) * bits_of.get(v.path, 32) for v in _unique(model.weights)
    )
    return total_bits // 8


def _lsq_slots(model):
    """(quantizer, tensor, quantizer weights) of every weight `model` owns and LSQ-quantizes
    (SPS views own none: a shared kernel comes once)."""
    for layer in model._flatten_layers(include_self=False):
        slots = []
        if hasattr(layer, "kernel_quantizer") and getattr(layer, "share_from", None) is None:
            if layer.built:
                slots.append((layer.kernel_quantizer, layer.kernel, layer.kernel_quantizer_weights))
        if hasattr(layer, "embedding_quantizer") and hasattr(layer, "word_embeddings"):
            slots.append(
                (
                    layer.embedding_quantizer,
                    layer.word_embeddings,
                    layer.embedding_quantizer_weights,
                )
            )
        yield from (slot for slot in slots if isinstance(slot[0], LsqQuantizer))


def _unique(variables):
    seen = set()
    for variable in variables:
        if id(variable) not in seen:
            seen.add(id(variable))
            yield variable
