"""keras-hub BertBackbone ↔ Encoder: parity with keras-hub's own forward, presets as finetune
teachers, and fine-tuned encoders saved back as presets that keras-hub loads."""

import dataclasses

import keras
import numpy as np
import pytest

from tests.training.helpers import SENTIMENT_ROWS, tiny_config, write_sst2_like
from tfcompress.errors import ConfigError
from tfcompress.layers import LsqQuantizer
from tfcompress.models import Encoder
from tfcompress.models.keras_hub_bert import (
    backbone_from_encoder,
    encoder_from_backbone,
    is_keras_hub_preset,
    load_keras_hub_encoder,
    save_keras_hub_preset,
)

PARITY = 1e-5
SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


def _random_backbone(seed=0, vocabulary_size=50, max_sequence_length=16):
    """A small BertBackbone with weights large enough that the GELU variant shows."""
    import keras_hub

    keras.utils.set_random_seed(seed)
    backbone = keras_hub.models.BertBackbone(
        vocabulary_size=vocabulary_size,
        num_layers=2,
        num_heads=2,
        hidden_dim=32,
        intermediate_dim=64,
        max_sequence_length=max_sequence_length,
    )
    rng = np.random.default_rng(seed)
    for weight in backbone.weights:
        weight.assign(rng.normal(0.0, 0.5, weight.shape).astype("float32"))
    return backbone


def _real_tokens(outputs, mask):
    return np.asarray(outputs)[np.asarray(mask).astype(bool)]


def _max_diff(ours, theirs, inputs):
    sequence = np.abs(
        _real_tokens(ours["sequence_output"], inputs["padding_mask"])
        - _real_tokens(theirs["sequence_output"], inputs["padding_mask"])
    ).max()
    pooled = np.abs(np.asarray(ours["pooled_output"]) - np.asarray(theirs["pooled_output"])).max()
    return max(sequence, pooled)


def test_encoder_matches_keras_hub_forward(tiny_inputs):
    backbone = _random_backbone()
    theirs = backbone(tiny_inputs)
    encoder = encoder_from_backbone(backbone)
    assert encoder.config.hidden_act == "gelu_approximate"
    assert _max_diff(encoder(tiny_inputs), theirs, tiny_inputs) <= PARITY
    # The activation matters at these weights: exact GELU on the same weights is far off.
    exact = Encoder(dataclasses.replace(encoder.config, hidden_act="gelu"))
    exact.build()
    exact.set_weights(encoder.get_weights())
    assert _max_diff(exact(tiny_inputs), theirs, tiny_inputs) > 10 * PARITY


def test_shorter_max_length_keeps_the_first_positions(tiny_inputs):
    backbone = _random_backbone()
    encoder = encoder_from_backbone(backbone, max_length=8)
    assert encoder.embeddings.position_embeddings.shape[0] == 8
    assert _max_diff(encoder(tiny_inputs), backbone(tiny_inputs), tiny_inputs) <= PARITY
    with pytest.raises(Exception, match="16 positions"):
        encoder_from_backbone(backbone, max_length=32)


def test_preset_round_trip_through_keras_hub(tmp_path, tiny_inputs):
    import keras_hub

    encoder = encoder_from_backbone(_random_backbone(seed=1))
    vocabulary = SPECIALS + [f"w{i}" for i in range(45)]
    preset = save_keras_hub_preset(encoder, tmp_path / "preset", vocabulary)
    assert is_keras_hub_preset(preset)
    loaded = keras_hub.models.BertBackbone.from_preset(str(preset))
    assert _max_diff(encoder(tiny_inputs), loaded(tiny_inputs), tiny_inputs) <= PARITY
    tokenizer = keras_hub.models.BertTokenizer.from_preset(str(preset))
    assert tokenizer.get_vocabulary() == vocabulary
    again = load_keras_hub_encoder(preset)
    assert _max_diff(again(tiny_inputs), loaded(tiny_inputs), tiny_inputs) <= PARITY


def test_encoders_keras_hub_cannot_hold_are_refused(tiny_config):
    sps = Encoder(
        dataclasses.replace(tiny_config, layer_plan=[(0, False), (1, False), (0, True), (1, True)])
    )
    sps.build()
    with pytest.raises(ConfigError, match="shared layers"):
        backbone_from_encoder(sps)
    exact = Encoder(tiny_config)  # hidden_act "gelu": exact erf GELU
    exact.build()
    with pytest.raises(ConfigError, match="allow_gelu_change=True"):
        backbone_from_encoder(exact)
    assert backbone_from_encoder(exact, allow_gelu_change=True).num_layers == 2
    with pytest.raises(ConfigError, match="vocabulary has 3 tokens"):
        save_keras_hub_preset(exact, "/nonexistent", ["a", "b", "c"], allow_gelu_change=True)
    narrow = Encoder(dataclasses.replace(tiny_config, embedding_dim=8))
    narrow.build()
    with pytest.raises(ConfigError, match="narrow or second word tables"):
        backbone_from_encoder(narrow, allow_gelu_change=True)
    quantized = Encoder(tiny_config, weight_quantizer=LsqQuantizer(8, "weight"))
    quantized.build()
    with pytest.raises(ConfigError, match="quantizers .*--mode qat"):
        backbone_from_encoder(quantized, allow_gelu_change=True)


def test_a_preset_teacher_finetunes_and_goes_back_to_keras_hub(tmp_path, capsys):
    """model.checkpoint names a keras-hub preset: its weights, GELU and tokenizer are used;
    the fine-tuned encoder saved as a preset (`tfcompress preset`) gives keras-hub the same
    outputs."""
    import keras_hub

    from tfcompress.cli import main
    from tfcompress.tasks import FinishedRun
    from tfcompress.training import run_finetune

    words = sorted({w for text, _ in SENTIMENT_ROWS for w in text.split()})
    vocabulary = SPECIALS + words
    backbone = _random_backbone(vocabulary_size=len(vocabulary), max_sequence_length=32)
    for weight in backbone.weights:  # a trainable start: small weights again
        weight.assign(np.asarray(weight.numpy()) * 0.1)
    pretrained = tmp_path / "pretrained"
    backbone.save_to_preset(str(pretrained))
    keras_hub.models.BertTokenizer(vocabulary=vocabulary, lowercase=True).save_to_preset(
        str(pretrained)
    )
    train = write_sst2_like(tmp_path / "train.tsv", SENTIMENT_ROWS)
    config = tiny_config(
        tmp_path / "run",
        task="classification",
        data={"format": "glue", "glue_task": "sst2", "train": str(train), "eval": str(train)},
        model={"checkpoint": str(pretrained), "sequence_length": 12},
    )
    summary = run_finetune(config)
    assert summary["model"]["encoder"]["hidden_act"] == "gelu_approximate"
    run = FinishedRun.read(tmp_path / "run")
    assert run.task_runtime().tokenizer.vocab == vocabulary
    encoder = run.load_model().encoder
    # Fine-tuning moved the weights away from the preset's.
    start = backbone.get_layer("token_embedding").embeddings.numpy()
    assert not np.allclose(encoder.embeddings.word_embeddings.numpy(), start)
    preset = tmp_path / "finetuned"
    assert main(["preset", str(run.directory), "--output", str(preset)]) == 0
    assert "largest difference to the run's encoder" in capsys.readouterr().out
    # Nothing is overwritten: a second save into the same directory is refused.
    assert main(["preset", str(run.directory), "--output", str(preset)]) == 2
    assert "is not an empty directory" in capsys.readouterr().err
    loaded = keras_hub.models.BertBackbone.from_preset(str(preset))
    inputs = run.task_runtime().tokenizer(["great acting", "a boring mess"])
    inputs = {name: np.asarray(value) for name, value in inputs.items()}
    assert _max_diff(encoder(inputs), loaded(inputs), inputs) <= PARITY


def test_readme_keras_hub_example_runs(tmp_path, monkeypatch):
    import re

    from tests.test_readme import README

    block = next(
        b
        for b in re.findall(r"```python\n(.*?)```", README.read_text(), re.S)
        if "encoder_from_backbone" in b
    )
    backbone = _random_backbone(max_sequence_length=64)
    for weight in backbone.weights:
        weight.assign(np.asarray(weight.numpy()) * 0.1)
    backbone.save_to_preset(str(tmp_path / "my_bert_preset"))
    import keras_hub

    vocabulary = SPECIALS + [f"w{i}" for i in range(45)]
    tokenizer = keras_hub.models.BertTokenizer(vocabulary=vocabulary)
    tokenizer.save_to_preset(str(tmp_path / "my_bert_preset"))
    monkeypatch.chdir(tmp_path)
    namespace = {}
    exec(compile(block, "README.md", "exec"), namespace)
    inputs = {
        "token_ids": np.array([[2, 7, 8, 3, 0]], "int32"),
        "segment_ids": np.zeros((1, 5), "int32"),
        "padding_mask": np.array([[1, 1, 1, 1, 0]], "int32"),
    }
    ours = namespace["model"].encoder(inputs)
    assert _max_diff(ours, namespace["reloaded"](inputs), inputs) <= PARITY
    assert _max_diff(ours, backbone(inputs), inputs) <= PARITY
