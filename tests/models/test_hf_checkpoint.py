import dataclasses
import json

import keras
import numpy as np
import pytest

from tests.conftest import MINILM
from tests.models.reference_bert import bert_sequence_output
from tfcompress.errors import CheckpointError
from tfcompress.models import Encoder, load_hf_encoder, read_hf_config


def _write_tiny_checkpoint(directory, tiny_config, hidden_act="gelu"):
    """Exports a random tfcompress encoder in HF layout, so import can be checked exactly."""
    from safetensors.numpy import save_file

    from tfcompress.models.hf_checkpoint import _weight_map

    encoder = Encoder(tiny_config)
    encoder.build()
    tensors = {}
    for variable, name, transpose in _weight_map(encoder):
        value = np.asarray(variable.numpy())
        tensors[name] = np.ascontiguousarray(value.T if transpose else value)
    directory.mkdir(parents=True, exist_ok=True)
    save_file(tensors, str(directory / "model.safetensors"))
    c = tiny_config
    (directory / "config.json").write_text(
        json.dumps(
            {
                "model_type": "bert",
                "vocab_size": c.vocab_size,
                "hidden_size": c.hidden_size,
                "num_hidden_layers": c.num_layers,
                "num_attention_heads": c.num_heads,
                "intermediate_size": c.intermediate_size,
                "max_position_embeddings": c.max_length,
                "type_vocab_size": 2,
                "hidden_act": hidden_act,
                "layer_norm_eps": 1e-12,
                "hidden_dropout_prob": 0.0,
                "attention_probs_dropout_prob": 0.0,
            }
        )
    )
    (directory / "vocab.txt").write_text("[PAD]\n[UNK]\n[CLS]\n[SEP]\n")
    return tensors


def test_import_matches_numpy_reference(tmp_path, tiny_config, tiny_inputs):
    tensors = _write_tiny_checkpoint(tmp_path / "ckpt", tiny_config)
    encoder = load_hf_encoder(tmp_path / "ckpt")
    ours = encoder(tiny_inputs)["sequence_output"].numpy()
    hf = json.loads((tmp_path / "ckpt" / "config.json").read_text())
    ref = bert_sequence_output(
        tensors,
        hf,
        tiny_inputs["token_ids"],
        tiny_inputs["segment_ids"],
        tiny_inputs["padding_mask"],
    )
    assert np.abs(ours - ref).max() < 1e-4


def test_checkpoint_activation_is_honored(tmp_path, tiny_config, tiny_inputs):
    # A gelu_new (tanh) checkpoint must run tanh GELU, not the exact erf GELU.
    # Larger weights make the two activations differ visibly.
    keras.utils.set_random_seed(0)
    wide = dataclasses.replace(tiny_config, initializer_range=1.0)
    tensors = _write_tiny_checkpoint(tmp_path / "ckpt", wide, hidden_act="gelu_new")
    encoder = load_hf_encoder(tmp_path / "ckpt")
    assert encoder.config.hidden_act == "gelu_new"
    hf = json.loads((tmp_path / "ckpt" / "config.json").read_text())
    args = (tiny_inputs["token_ids"], tiny_inputs["segment_ids"], tiny_inputs["padding_mask"])
    tanh_reference = bert_sequence_output(tensors, hf, *args)
    erf_reference = bert_sequence_output(tensors, {**hf, "hidden_act": "gelu"}, *args)
    ours = encoder(tiny_inputs)["sequence_output"].numpy()
    tanh_error = np.abs(ours - tanh_reference).max()
    assert tanh_error < 1e-4
    assert np.abs(ours - erf_reference).max() > 10 * tanh_error


def test_missing_file_names_it(tmp_path, tiny_config):
    _write_tiny_checkpoint(tmp_path / "ckpt", tiny_config)
    (tmp_path / "ckpt" / "model.safetensors").unlink()
    with pytest.raises(CheckpointError, match="model.safetensors is missing"):
        load_hf_encoder(tmp_path / "ckpt")
    with pytest.raises(CheckpointError, match="does not exist"):
        load_hf_encoder(tmp_path / "nowhere")


def test_unsupported_architecture(tmp_path, tiny_config):
    _write_tiny_checkpoint(tmp_path / "ckpt", tiny_config)
    config = json.loads((tmp_path / "ckpt" / "config.json").read_text())
    config["model_type"] = "gpt2"
    (tmp_path / "ckpt" / "config.json").write_text(json.dumps(config))
    with pytest.raises(CheckpointError, match="model_type 'gpt2' is not supported"):
        read_hf_config(tmp_path / "ckpt")


def test_shape_mismatch_names_tensor(tmp_path, tiny_config):
    _write_tiny_checkpoint(tmp_path / "ckpt", tiny_config)
    config = json.loads((tmp_path / "ckpt" / "config.json").read_text())
    config["intermediate_size"] = 48
    (tmp_path / "ckpt" / "config.json").write_text(json.dumps(config))
    with pytest.raises(CheckpointError, match=r"intermediate.dense.weight' has shape"):
        load_hf_encoder(tmp_path / "ckpt")


@pytest.mark.skipif(not MINILM.is_dir(), reason="needs ../shared/teachers/all-minilm-l6-v2")
def test_minilm_matches_numpy_reference():
    from safetensors.numpy import load_file

    encoder = load_hf_encoder(MINILM, max_length=64)
    hf = json.loads((MINILM / "config.json").read_text())
    rng = np.random.default_rng(1)
    token_ids = rng.integers(1000, 30000, (2, 24)).astype("int32")
    token_ids[:, 0], token_ids[:, -1] = 101, 102
    mask = np.ones_like(token_ids)
    mask[1, 15:] = 0
    token_ids[1, 15:] = 0
    segment_ids = np.zeros_like(token_ids)
    ours = encoder({"token_ids": token_ids, "segment_ids": segment_ids, "padding_mask": mask})
    ref = bert_sequence_output(
        load_file(str(MINILM / "model.safetensors")), hf, token_ids, segment_ids, mask
    )
    diff = np.abs(ours["sequence_output"].numpy() - ref)
    valid = mask.astype(bool)
    assert diff[valid].max() <= 1e-4


def test_copy_keeps_checkpoint_intact(tmp_path, tiny_config):
    # Import only reads: a checkpoint directory is never modified.
    _write_tiny_checkpoint(tmp_path / "ckpt", tiny_config)
    before = {p.name: p.read_bytes() for p in (tmp_path / "ckpt").iterdir()}
    load_hf_encoder(tmp_path / "ckpt")
    assert {p.name: p.read_bytes() for p in (tmp_path / "ckpt").iterdir()} == before
