"""keras-hub `BertBackbone` ↔ our `Encoder`: keras-hub models as teachers, and students back
into keras-hub pipelines as presets.

keras-hub's BERT is the same post-LayerNorm BERT as ours (LayerNorm epsilon 1e-12, a tanh
pooler on [CLS]) with two differences carried over explicitly: its feed-forward uses the
tanh-approximate GELU (our `hidden_act="gelu_approximate"`), and its attention projections
are `EinsumDense` kernels shaped `[hidden, heads, head_width]` (ours are `[hidden, hidden]`).
"""

import json
from pathlib import Path

import numpy as np

from tfcompress.errors import CheckpointError, ConfigError
from tfcompress.models.encoder import Encoder
from tfcompress.models.encoder_config import EncoderConfig

BACKBONE_CLASS = "BertBackbone"
TANH_GELUS = ("gelu_approximate", "gelu_new", "gelu_pytorch_tanh")
PRESET_VOCABULARY = Path("assets") / "tokenizer" / "vocabulary.txt"


def _preset_json(directory, name):
    path = Path(directory) / name
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except OSError as e:
        raise CheckpointError(f"{path}: cannot read it ({e})") from None
    except json.JSONDecodeError as e:
        raise CheckpointError(f"{path}: not valid JSON ({e})") from None


def is_keras_hub_preset(directory) -> bool:
    """Whether `directory` was written by keras-hub's `save_to_preset` (a config.json naming a
    keras-hub class and a metadata.json)."""
    directory = Path(directory)
    if not (directory / "metadata.json").is_file() or not (directory / "config.json").is_file():
        return False
    config = _preset_json(directory, "config.json")
    return isinstance(config, dict) and str(config.get("module", "")).startswith("keras_hub")


def _backbone_values(directory):
    config = _preset_json(directory, "config.json")
    if config.get("class_name") != BACKBONE_CLASS:
        raise CheckpointError(
            f"{Path(directory) / 'config.json'}: a keras-hub {config.get('class_name')!r} preset; "
            f"tfcompress imports {BACKBONE_CLASS} presets (save the backbone, not a task model)"
        )
    return config["config"]


def encoder_config_from_backbone(values, max_length=None, pooling="cls") -> EncoderConfig:
    """Our `EncoderConfig` for a BertBackbone config dict (`backbone.get_config()`)."""
    positions = values["max_sequence_length"]
    if max_length and max_length > positions:
        raise CheckpointError(
            f"the keras-hub backbone has {positions} positions; model.sequence_length "
            f"{max_length} is longer"
        )
    return EncoderConfig(
        vocab_size=values["vocabulary_size"],
        hidden_size=values["hidden_dim"],
        num_layers=values["num_layers"],
        num_heads=values["num_heads"],
        intermediate_size=values["intermediate_dim"],
        max_length=max_length or positions,
        type_vocab_size=values.get("num_segments", 2),
        dropout=values.get("dropout", 0.1),
        attention_dropout=values.get("dropout", 0.1),
        hidden_act="gelu_approximate",
        layer_norm_epsilon=1e-12,
        pooling=pooling,
    )


def read_keras_hub_config(directory, max_length=None, pooling="cls") -> EncoderConfig:
    """The `EncoderConfig` of a BertBackbone preset directory, without loading its weights."""
    return encoder_config_from_backbone(_backbone_values(directory), max_length, pooling)


def _weight_pairs(encoder):
    """(our variable, keras-hub weight path) for every encoder weight."""
    e = encoder.embeddings
    pairs = [
        (e.word_embeddings, "token_embedding/embeddings"),
        (e.position_embeddings, "position_embedding/embeddings"),
        (e.segment_embeddings, "segment_embedding/embeddings"),
        (e.layer_norm.gamma, "embeddings_layer_norm/gamma"),
        (e.layer_norm.beta, "embeddings_layer_norm/beta"),
    ]
    for i, block in enumerate(encoder.blocks):
        p = f"transformer_layer_{i}"
        a = block.attention
        dense = {
            "self_attention_layer/query": a.query_dense,
            "self_attention_layer/key": a.key_dense,
            "self_attention_layer/value": a.value_dense,
            "self_attention_layer/attention_output": a.output_dense,
            "feedforward_intermediate_dense": block.intermediate_dense,
            "feedforward_output_dense": block.output_dense,
        }
        norms = {
            "self_attention_layer_norm": block.attention_layer_norm,
            "feedforward_layer_norm": block.output_layer_norm,
        }
        for name, layer in dense.items():
            pairs += [(layer.kernel, f"{p}/{name}/kernel"), (layer.bias, f"{p}/{name}/bias")]
        for name, layer in norms.items():
            pairs += [(layer.gamma, f"{p}/{name}/gamma"), (layer.beta, f"{p}/{name}/beta")]
    if encoder.pooler is not None:
        pairs += [
            (encoder.pooler.kernel, "pooled_dense/kernel"),
            (encoder.pooler.bias, "pooled_dense/bias"),
        ]
    return pairs


def _backbone_weights(backbone):
    return {weight.path: weight for weight in backbone.weights}


def encoder_from_backbone(backbone, max_length=None, pooling="cls", name="encoder") -> Encoder:
    """A built `Encoder` holding a keras-hub `BertBackbone`'s weights (an instance, e.g. from
    `keras_hub.models.BertBackbone.from_preset(...)`). `max_length` below the backbone's keeps
    the first rows of its position table; `pooling="mean"` drops its pooler."""
    if type(backbone).__name__ != BACKBONE_CLASS:
        raise ConfigError(
            f"expected a keras_hub.models.{BACKBONE_CLASS}, got {type(backbone).__name__}; "
            "pass a task model's `.backbone`"
        )
    config = encoder_config_from_backbone(backbone.get_config(), max_length, pooling)
    encoder = Encoder(config, name=name)
    encoder.build()
    weights = _backbone_weights(backbone)
    for variable, path in _weight_pairs(encoder):
        value = np.asarray(weights[path].numpy())
        if path == "position_embedding/embeddings":
            value = value[: variable.shape[0]]
        variable.assign(value.reshape(variable.shape).astype(variable.dtype))
    return encoder


def load_keras_hub_encoder(directory, max_length=None, pooling="cls", name="encoder") -> Encoder:
    """`encoder_from_backbone` of a BertBackbone preset directory (`save_to_preset`); read
    from the path, nothing downloaded."""
    import keras_hub

    read_keras_hub_config(directory, max_length, pooling)  # a clear error before loading
    backbone = keras_hub.models.BertBackbone.from_preset(str(directory))
    return encoder_from_backbone(backbone, max_length, pooling, name)


def keras_hub_preset_vocabulary(directory):
    """(vocabulary.txt path, lower_case) of a preset's BertTokenizer."""
    path = Path(directory) / PRESET_VOCABULARY
    if not path.is_file():
        raise CheckpointError(
            f"{path} is missing: the preset has no BertTokenizer; save one beside the backbone "
            "(keras_hub.models.BertTokenizer(...).save_to_preset(directory))"
        )
    tokenizer = Path(directory) / "tokenizer.json"
    lower_case = True
    if tokenizer.is_file():
        lower_case = bool(
            _preset_json(directory, "tokenizer.json")["config"].get("lowercase", True)
        )
    return path, lower_case


def _check_expressible(encoder, allow_gelu_change):
    config = encoder.config
    problems = []
    if config.layer_plan is not None:
        problems.append("shared layers (SPS) run blocks more than once")
    if config.embedding_dim not in (None, config.hidden_size) or config.second_vocab_size:
        problems.append("narrow or second word tables")
    slots = ("weight_quantizer", "activation_quantizer", "embedding_quantizer", "output_quantizer")
    if not all(getattr(encoder, slot).is_identity for slot in slots):
        problems.append("quantizers (export it with `tfcompress export --mode qat` instead)")
    if problems:
        raise ConfigError(f"a keras-hub BertBackbone cannot hold {'; '.join(problems)}")
    if config.hidden_act not in TANH_GELUS and not allow_gelu_change:
        raise ConfigError(
            f"this encoder uses hidden_act {config.hidden_act!r}; keras-hub's BertBackbone "
            "always uses the tanh-approximate GELU, so its outputs would differ (about 1e-3 for "
            "MiniLM); pass allow_gelu_change=True to save it anyway"
        )


def backbone_from_encoder(encoder, allow_gelu_change=False):
    """A keras-hub `BertBackbone` holding our encoder's weights. Encoders with shared layers,
    narrow tables or quantizers have no BertBackbone form (ConfigError); an encoder without
    a pooler (mean pooling) leaves the backbone's `pooled_dense` at its initial weights."""
    import keras_hub

    _check_expressible(encoder, allow_gelu_change)
    config = encoder.config
    backbone = keras_hub.models.BertBackbone(
        vocabulary_size=config.vocab_size,
        num_layers=config.num_layers,
        num_heads=config.num_heads,
        hidden_dim=config.hidden_size,
        intermediate_dim=config.intermediate_size,
        dropout=config.dropout,
        max_sequence_length=config.max_length,
        num_segments=config.type_vocab_size,
    )
    weights = _backbone_weights(backbone)
    for variable, path in _weight_pairs(encoder):
        target = weights[path]
        target.assign(np.asarray(variable.numpy()).reshape(target.shape))
    return backbone


def save_keras_hub_preset(
    encoder, directory, vocabulary, lower_case=True, allow_gelu_change=False
) -> Path:
    """Writes `encoder` as a keras-hub BertBackbone preset with its BertTokenizer
    (`vocabulary`: a vocab.txt path or a token list), loadable by
    `keras_hub.models.BertBackbone.from_preset(directory)` and `TextClassifier.from_preset`."""
    import keras_hub

    backbone = backbone_from_encoder(encoder, allow_gelu_change)
    tokens = vocabulary
    if isinstance(vocabulary, (str, Path)):
        tokens = Path(vocabulary).read_text(encoding="utf-8").splitlines()
    if len(tokens) != encoder.config.vocab_size:
        raise ConfigError(
            f"the vocabulary has {len(tokens)} tokens, the encoder's word table "
            f"{encoder.config.vocab_size}; pass the vocab.txt the encoder was trained with"
        )
    directory = Path(directory)
    backbone.save_to_preset(str(directory))
    keras_hub.models.BertTokenizer(vocabulary=list(tokens), lowercase=lower_case).save_to_preset(
        str(directory)
    )
    return directory


def preset_parity(encoder, preset, inputs) -> float:
    """Largest difference between `encoder` and the preset as keras-hub loads it, on the real
    tokens' sequence output and the pooled output of `inputs` (a batch of ids)."""
    import keras_hub

    loaded = keras_hub.models.BertBackbone.from_preset(str(preset))
    ours, theirs = encoder(inputs), loaded(inputs)
    real = np.asarray(inputs["padding_mask"]).astype(bool)
    sequence = np.abs(
        np.asarray(ours["sequence_output"])[real] - np.asarray(theirs["sequence_output"])[real]
    ).max()
    if encoder.pooler is None:  # the preset's pooled_dense is untrained: not compared
        return float(sequence)
    pooled = np.abs(np.asarray(ours["pooled_output"]) - np.asarray(theirs["pooled_output"])).max()
    return float(max(sequence, pooled))
