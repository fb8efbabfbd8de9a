"""An independent numpy BERT forward pass over Hugging Face tensor names (test reference)."""

import functools

import numpy as np
from scipy.special import erf


def _layer_norm(x, gamma, beta, eps):
    mean = x.mean(-1, keepdims=True)
    var = ((x - mean) ** 2).mean(-1, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * gamma + beta


def _linear(t, name, x):
    return x @ t[f"{name}.weight"].T + t[f"{name}.bias"]


def _gelu(x, approximate=False):
    if approximate:
        return 0.5 * x * (1.0 + np.tanh(np.sqrt(2.0 / np.pi) * (x + 0.044715 * x**3)))
    return 0.5 * x * (1.0 + erf(x / np.sqrt(2.0)))


def _split_heads(y, heads):
    b, s, h = y.shape
    return y.reshape(b, s, heads, h // heads).transpose(0, 2, 1, 3)


def _softmax(x):
    e = np.exp(x - x.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def bert_sequence_output(t, hf_config, token_ids, segment_ids, padding_mask):
    """float64 BERT encoder: [B, S] int arrays → sequence output [B, S, H].

    `hidden_act` "gelu" is the exact erf GELU (Hugging Face's meaning); any other
    name ("gelu_new", "gelu_pytorch_tanh") the tanh approximation.
    """
    approximate = hf_config.get("hidden_act", "gelu") != "gelu"
    t = {k: v.astype(np.float64) for k, v in t.items()}
    eps = hf_config["layer_norm_eps"]
    heads = hf_config["num_attention_heads"]
    seq = token_ids.shape[1]
    x = (
        t["embeddings.word_embeddings.weight"][token_ids]
        + t["embeddings.position_embeddings.weight"][:seq][None]
        + t["embeddings.token_type_embeddings.weight"][segment_ids]
    )
    x = _layer_norm(x, t["embeddings.LayerNorm.weight"], t["embeddings.LayerNorm.bias"], eps)
    bias = (1.0 - padding_mask[:, None, None, :]) * -1e9
    for i in range(hf_config["num_hidden_layers"]):
        p = f"encoder.layer.{i}"
        b, s, h = x.shape
        d = h // heads
        split = functools.partial(_split_heads, heads=heads)
        q = split(_linear(t, f"{p}.attention.self.query", x))
        k = split(_linear(t, f"{p}.attention.self.key", x))
        v = split(_linear(t, f"{p}.attention.self.value", x))
        probs = _softmax(q @ k.transpose(0, 1, 3, 2) / np.sqrt(d) + bias)
        ctx = (probs @ v).transpose(0, 2, 1, 3).reshape(b, s, h)
        x = _layer_norm(
            x + _linear(t, f"{p}.attention.output.dense", ctx),
            t[f"{p}.attention.output.LayerNorm.weight"],
            t[f"{p}.attention.output.LayerNorm.bias"],
            eps,
        )
        ffn = _linear(
            t, f"{p}.output.dense", _gelu(_linear(t, f"{p}.intermediate.dense", x), approximate)
        )
        x = _layer_norm(
            x + ffn, t[f"{p}.output.LayerNorm.weight"], t[f"{p}.output.LayerNorm.bias"], eps
        )
    return x
