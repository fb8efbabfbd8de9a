"""Test helpers for models: a tiny checkpoint in Hugging Face layout."""

import json

import numpy as np

from tfcompress.models import Encoder


def write_tiny_checkpoint(directory, tiny_config, hidden_act="gelu", vocab=None):
    """Exports a random tfcompress encoder in HF layout, so import can be checked exactly.

    `vocab` (a token list) becomes vocab.txt; by default only the four special tokens,
    which does not match `vocab_size` (tests of that mismatch rely on it)."""
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
    tokens = vocab or ["[PAD]", "[UNK]", "[CLS]", "[SEP]"]
    (directory / "vocab.txt").write_text("".join(t + "\n" for t in tokens))
    return tensors
