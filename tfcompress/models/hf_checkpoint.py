"""Import Hugging Face BERT-family checkpoints (config.json, model.safetensors, vocab.txt)."""

import dataclasses
import json
from pathlib import Path

import numpy as np

from tfcompress.errors import CheckpointError, ConfigError
from tfcompress.models.encoder import Encoder
from tfcompress.models.encoder_config import EncoderConfig

CHECKPOINT_FILES = ("config.json", "model.safetensors", "vocab.txt")
SUPPORTED_MODEL_TYPES = ("bert",)


def _require_files(directory):
    directory = Path(directory)
    if not directory.is_dir():
        raise CheckpointError(
            f"checkpoint directory {directory} does not exist; pass a Hugging Face BERT "
            f"directory holding {', '.join(CHECKPOINT_FILES)}, or a keras-hub BertBackbone "
            "preset directory (save_to_preset)"
        )
    for name in CHECKPOINT_FILES:
        if not (directory / name).is_file():
            raise CheckpointError(
                f"{directory / name} is missing; a checkpoint directory needs "
                f"{', '.join(CHECKPOINT_FILES)}"
            )
    return directory


def read_hf_config(directory, max_length=None):
    """The `EncoderConfig` described by a checkpoint's config.json."""
    directory = _require_files(directory)
    path = directory / "config.json"
    try:
        hf = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise CheckpointError(f"{path}: not valid JSON ({e})") from None
    model_type = hf.get("model_type")
    if model_type not in SUPPORTED_MODEL_TYPES:
        raise CheckpointError(
            f"{path}: model_type {model_type!r} is not supported; tfcompress imports "
            f"{', '.join(SUPPORTED_MODEL_TYPES)} checkpoints (post-LayerNorm BERT layout)"
        )
    if max_length and max_length > hf.get("max_position_embeddings", max_length):
        raise CheckpointError(
            f"{path}: the checkpoint has {hf['max_position_embeddings']} positions; "
            f"model.sequence_length {max_length} is longer"
        )
    if hf.get("position_embedding_type", "absolute") != "absolute":
        raise CheckpointError(f"{path}: only absolute position embeddings are supported")
    try:
        return EncoderConfig(
            vocab_size=hf["vocab_size"],
            hidden_size=hf["hidden_size"],
            num_layers=hf["num_hidden_layers"],
            num_heads=hf["num_attention_heads"],
            intermediate_size=hf["intermediate_size"],
            max_length=max_length or hf["max_position_embeddings"],
            type_vocab_size=hf.get("type_vocab_size", 2),
            dropout=hf.get("hidden_dropout_prob", 0.1),
            attention_dropout=hf.get("attention_probs_dropout_prob", 0.1),
            hidden_act=hf.get("hidden_act", "gelu"),
            layer_norm_epsilon=hf.get("layer_norm_eps", 1e-12),
            initializer_range=hf.get("initializer_range", 0.02),
        )
    except KeyError as e:
        raise CheckpointError(f"{path}: missing key {e.args[0]!r}") from None
    except ConfigError as e:
        raise CheckpointError(f"{path}: unsupported setting: {e}") from None


def checkpoint_lower_case(directory, default=True):
    """`do_lower_case` from tokenizer_config.json when present: a cased model must stay cased."""
    path = Path(directory) / "tokenizer_config.json"
    if not path.is_file():
        return default
    try:
        return bool(json.loads(path.read_text(encoding="utf-8")).get("do_lower_case", default))
    except json.JSONDecodeError as e:
        raise CheckpointError(f"{path}: not valid JSON ({e})") from None


def load_hf_encoder(directory, max_length=None, name="encoder", pooling="cls", **quantizers):
    """A built `Encoder` holding the checkpoint's weights.

    `max_length` below the checkpoint's keeps the first rows of the position
    table (shorter models are smaller to export). `pooling="mean"` drops the
    checkpoint's pooler for the mean of the token states (what sentence-transformers
    checkpoints such as all-MiniLM-L6-v2 were trained with). `quantizers` are passed
    to the `Encoder` (weight_quantizer, activation_quantizer, embedding_quantizer).
    """
    config = dataclasses.replace(read_hf_config(directory, max_length), pooling=pooling)
    encoder = Encoder(config, name=name, **quantizers)
    encoder.build()
    load_hf_weights(encoder, directory)
    return encoder


def _read_tensors(directory):
    from safetensors import SafetensorError
    from safetensors.numpy import load_file

    path = Path(directory) / "model.safetensors"
    try:
        tensors = load_file(str(path))
    except (SafetensorError, OSError) as e:
        raise CheckpointError(f"{path}: cannot read safetensors file ({e})") from None
    # BertFor* checkpoints prefix the encoder with "bert."; BertModel does not.
    prefix = "bert." if any(k.startswith("bert.") for k in tensors) else ""
    return {k[len(prefix) :]: v for k, v in tensors.items() if k.startswith(prefix)}, path


def _layer_norm_names(layer, hf_prefix):
    return [(layer.gamma, f"{hf_prefix}.weight", False), (layer.beta, f"{hf_prefix}.bias", False)]


def _dense_names(layer, hf_prefix):
    # HF stores Linear weights (out, in); our kernels are (in, out).
    return [(layer.kernel, f"{hf_prefix}.weight", True), (layer.bias, f"{hf_prefix}.bias", False)]


def _weight_map(encoder):
    """(our variable, HF tensor name, transpose?) for every encoder weight."""
    e = encoder.embeddings
    names = [
        (e.word_embeddings, "embeddings.word_embeddings.weight", False),
        (e.position_embeddings, "embeddings.position_embeddings.weight", False),
        (e.segment_embeddings, "embeddings.token_type_embeddings.weight", False),
        *_layer_norm_names(e.layer_norm, "embeddings.LayerNorm"),
    ]
    for i, block in enumerate(encoder.blocks):
        p = f"encoder.layer.{i}"
        a = block.attention
        names += _dense_names(a.query_dense, f"{p}.attention.self.query")
        names += _dense_names(a.key_dense, f"{p}.attention.self.key")
        names += _dense_names(a.value_dense, f"{p}.attention.self.value")
        names += _dense_names(a.output_dense, f"{p}.attention.output.dense")
        names += _layer_norm_names(block.attention_layer_norm, f"{p}.attention.output.LayerNorm")
        names += _dense_names(block.intermediate_dense, f"{p}.intermediate.dense")
        names += _dense_names(block.output_dense, f"{p}.output.dense")
        names += _layer_norm_names(block.output_layer_norm, f"{p}.output.LayerNorm")
    if encoder.pooler is not None:
        names += _dense_names(encoder.pooler, "pooler.dense")
    return names


def _legacy_layer_norm_name(name):
    # Old TF-converted checkpoints call LayerNorm parameters gamma/beta.
    return name.replace("LayerNorm.weight", "LayerNorm.gamma").replace(
        "LayerNorm.bias", "LayerNorm.beta"
    )


def load_hf_weights(encoder, directory):
    """Assigns a checkpoint's tensors to a built encoder, checking every shape."""
    if encoder.config.embedding_dim not in (None, encoder.config.hidden_size):
        raise CheckpointError(
            "a BERT checkpoint has full-width embeddings; build the encoder "
            "without embedding_dim to import it"
        )
    tensors, path = _read_tensors(directory)
    for variable, name, transpose in _weight_map(encoder):
        if name not in tensors and _legacy_layer_norm_name(name) in tensors:
            name = _legacy_layer_norm_name(name)
        if name not in tensors:
            raise CheckpointError(f"{path}: tensor {name!r} is missing; is this a BERT checkpoint?")
        value = tensors[name].T if transpose else tensors[name]
        if name == "embeddings.position_embeddings.weight":
            value = value[: variable.shape[0]]
        if tuple(value.shape) != tuple(variable.shape):
            raise CheckpointError(
                f"{path}: tensor {name!r} has shape {tuple(value.shape)}, the encoder expects "
                f"{tuple(variable.shape)}; config.json and model.safetensors disagree"
            )
        variable.assign(np.asarray(value, dtype=variable.dtype))
