import dataclasses
import json

import keras
import numpy as np
import pytest

from tests.conftest import MINILM
from tests.models.helpers import write_tiny_checkpoint
from tests.models.reference_bert import bert_sequence_output
from tfcompress.errors import CheckpointError
from tfcompress.models import Encoder, load_hf_encoder, read_hf_config


def test_import_matches_numpy_reference(tmp_path, tiny_config, tiny_inputs):
    tensors = write_tiny_checkpoint(tmp_path / "ckpt", tiny_config)
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
    tensors = write_tiny_checkpoint(tmp_path / "ckpt", wide, hidden_act="gelu_new")
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
    write_tiny_checkpoint(tmp_path / "ckpt", tiny_config)
    (tmp_path / "ckpt" / "model.safetensors").unlink()
    with pytest.raises(CheckpointError, match="model.safetensors is missing"):
        load_hf_encoder(tmp_path / "ckpt")
    with pytest.raises(CheckpointError, match="does not exist"):
        load_hf_encoder(tmp_path / "nowhere")


def test_unsupported_architecture(tmp_path, tiny_config):
    write_tiny_checkpoint(tmp_path / "ckpt", tiny_config)
    config = json.loads((tmp_path / "ckpt" / "config.json").read_text())
    config["model_type"] = "gpt2"
    (tmp_path / "ckpt" / "config.json").write_text(json.dumps(config))
    with pytest.raises(CheckpointError, match="model_type 'gpt2' is not supported"):
        read_hf_config(tmp_path / "ckpt")


def test_shape_mismatch_names_tensor(tmp_path, tiny_config):
    write_tiny_checkpoint(tmp_path / "ckpt", tiny_config)
    config = json.loads((tmp_path / "ckpt" / "config.json").read_text())
    config["intermediate_size"] = 48
    (tmp_path / "ckpt" / "config.json").write_text(json.dumps(config))
    with pytest.raises(CheckpointError, match=r"intermediate.dense.weight' has shape"):
        load_hf_encoder(tmp_path / "ckpt")


def _two_segment_batch(lengths, sequence_length, seed=1):
    """[CLS] a [SEP] b [SEP] [PAD]...: random word ids, segment b about a third of each
    row's real tokens, padding after `lengths[i]` real tokens."""
    rng = np.random.default_rng(seed)
    batch = len(lengths)
    token_ids = np.zeros((batch, sequence_length), "int32")
    segment_ids = np.zeros_like(token_ids)
    mask = np.zeros_like(token_ids)
    for row, length in enumerate(lengths):
        second = length // 3  # [SEP] closing segment a sits at length - second - 1
        token_ids[row, :length] = rng.integers(1000, 30000, length)
        token_ids[row, [0, length - second - 1, length - 1]] = 101, 102, 102
        segment_ids[row, length - second : length] = 1
        mask[row, :length] = 1
    return {"token_ids": token_ids, "segment_ids": segment_ids, "padding_mask": mask}


# docs/results.md: 4 sequences of 128 tokens, second segment, padding; measured 2.26e-6 (2026-12-04).
MINILM_TOLERANCE = 1e-5


@pytest.mark.skipif(not MINILM.is_dir(), reason="needs ../shared/teachers/all-minilm-l6-v2")
def test_minilm_matches_numpy_reference():
    from safetensors.numpy import load_file

    from tfcompress.models import load_hf_weights

    hf = json.loads((MINILM / "config.json").read_text())
    assert hf["hidden_act"] == "gelu"  # exact erf GELU
    inputs = _two_segment_batch(lengths=[128, 101, 64, 23], sequence_length=128)
    real = inputs["padding_mask"].astype(bool)
    assert (inputs["segment_ids"][real] == 1).sum() > 0 and (~real).sum() > 0

    tensors = load_file(str(MINILM / "model.safetensors"))
    args = (inputs["token_ids"], inputs["segment_ids"], inputs["padding_mask"])
    reference = bert_sequence_output(tensors, hf, *args)
    encoder = load_hf_encoder(MINILM)
    ours = encoder(inputs)["sequence_output"].numpy()
    error = np.abs(ours - reference)[real].max()
    print(f"all-MiniLM-L6-v2 vs float64 numpy BERT, 4 x 128, real tokens: {error:.2e}")
    assert error <= MINILM_TOLERANCE

    # The check tells the activations apart: an encoder running tanh GELU on these
    # weights is far outside the tolerance (DESIGN.md measured 2.6e-3).
    tanh_config = dataclasses.replace(encoder.config, hidden_act="gelu_new")
    tanh_encoder = Encoder(tanh_config)
    tanh_encoder.build()
    load_hf_weights(tanh_encoder, MINILM)
    tanh_ours = tanh_encoder(inputs)["sequence_output"].numpy()
    tanh_error = np.abs(tanh_ours - reference)[real].max()
    print(f"tanh-GELU encoder vs the erf reference: {tanh_error:.2e}")
    assert tanh_error > 1e-4 and tanh_error > 10 * MINILM_TOLERANCE
    tanh_reference = bert_sequence_output(tensors, {**hf, "hidden_act": "gelu_new"}, *args)
    assert np.abs(tanh_ours - tanh_reference)[real].max() <= MINILM_TOLERANCE


def test_copy_keeps_checkpoint_intact(tmp_path, tiny_config):
    # Import only reads: a checkpoint directory is never modified.
    write_tiny_checkpoint(tmp_path / "ckpt", tiny_config)
    before = {p.name: p.read_bytes() for p in (tmp_path / "ckpt").iterdir()}
    load_hf_encoder(tmp_path / "ckpt")
    assert {p.name: p.read_bytes() for p in (tmp_path / "ckpt").iterdir()} == before
