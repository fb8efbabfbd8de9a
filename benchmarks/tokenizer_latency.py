"""TFLite latency with and without in-graph tokenization, batch 1, one thread.

Converts one randomly initialised classifier twice: as a strings-in text model (tokenizer in
the graph, tfcompress.export.text_model) and as an ids-in model (tokenization done outside,
not timed). Runs them interleaved, the order reversed every other round, and reports the
median of each per input, plus tokenization alone: as a .tflite and as the eager TensorFlow
WordPieceTokenizer (what a Python host would otherwise run). Weights do not affect the
timing, so no checkpoint is needed; the vocabulary does (it sizes the wordpiece model).

Usage (repository root):
  python benchmarks/tokenizer_latency.py                  # 6 layers, hidden 256, seq 128
  python benchmarks/tokenizer_latency.py --preset tiny --runs 200
"""

import argparse
import datetime
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from ai_edge_litert.interpreter import Interpreter  # noqa: E402

from tfcompress.data.vocabulary import DEFAULT_RESERVED_TOKENS, ascii_tokens  # noqa: E402
from tfcompress.data.wordpiece_tokenizer import WordPieceTokenizer  # noqa: E402
from tfcompress.export.text_model import (  # noqa: E402
    convert_module,
    encode_for_tflite,
    export_text_model,
    load_text_interpreter,
)
from tfcompress.models import Encoder, EncoderConfig, build_classifier  # noqa: E402
from tfcompress.models.encoder import INPUT_NAMES  # noqa: E402

MINILM_VOCAB = Path(__file__).resolve().parents[2] / "shared/teachers/all-minilm-l6-v2/vocab.txt"
PRESETS = {
    "tiny": dict(num_layers=2, hidden_size=32, num_heads=2, intermediate_size=64, seq_len=16),
    "small": dict(num_layers=6, hidden_size=256, num_heads=4, intermediate_size=1024, seq_len=128),
}
TEXTS = {
    "short (SST-2-like, 14 words)": "the film is a charming, if uneven, "
    "look at friendship and the small lies we tell.",
    "long (truncated to seq)": "Café owners in Zürich said the new policy, announced on "
    "Tuesday, would hurt small businesses that rely on tourists. " * 20,
}


def main():
    args = _parse_args()
    dims = {
        **PRESETS[args.preset],
        **{k: v for k, v in vars(args).items() if k in PRESETS["tiny"] and v is not None},
    }
    tokenizer = _tokenizer(args.vocab, dims["seq_len"])
    model = _model(tokenizer.vocab_size, dims)
    with tempfile.TemporaryDirectory() as tmp:
        text_path, ids_path = Path(tmp, "text.tflite"), Path(tmp, "ids.tflite")
        export_text_model(model, tokenizer, text_path, mode=args.mode)
        ids_path.write_bytes(_ids_flatbuffer(model, dims["seq_len"], args.mode))
        text_runner = load_text_interpreter(text_path, args.threads).get_signature_runner()
        ids_runner = Interpreter(model_path=str(ids_path), num_threads=args.threads)
        tok_path = Path(tmp, "tokenizer.tflite")
        tok_path.write_bytes(_tokenizer_flatbuffer(tokenizer))
        runners = {
            "text": text_runner,
            "ids": ids_runner.get_signature_runner(),
            "tok": load_text_interpreter(tok_path, args.threads).get_signature_runner(),
        }
        rows = [_measure(name, text, tokenizer, runners, args.runs) for name, text in TEXTS.items()]
        sizes = text_path.stat().st_size, ids_path.stat().st_size
    _print_table(args, dims, tokenizer, rows, sizes)


def _parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", choices=sorted(PRESETS), default="small")
    for name in PRESETS["tiny"]:
        parser.add_argument("--" + name.replace("_", "-"), dest=name, type=int)
    parser.add_argument("--vocab", help=f"vocab.txt (default: {MINILM_VOCAB} if present)")
    parser.add_argument("--mode", choices=["float", "dynamic"], default="float")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--runs", type=int, default=100, help="timed runs per model and input")
    return parser.parse_args()


def _tokenizer(vocab: str | None, seq_len: int) -> WordPieceTokenizer:
    path = vocab or (MINILM_VOCAB if MINILM_VOCAB.exists() else None)
    if path:
        return WordPieceTokenizer.from_vocab_file(path, sequence_length=seq_len)
    # Fallback: character-level ASCII vocabulary (every word splits into many pieces).
    return WordPieceTokenizer(list(DEFAULT_RESERVED_TOKENS) + ascii_tokens(), seq_len)


def _model(vocab_size: int, dims: dict):
    config = EncoderConfig(
        vocab_size=vocab_size,
        hidden_size=dims["hidden_size"],
        num_layers=dims["num_layers"],
        num_heads=dims["num_heads"],
        intermediate_size=dims["intermediate_size"],
        max_length=max(dims["seq_len"], 64),
    )
    return build_classifier(Encoder(config), 2, sequence_length=dims["seq_len"])


def _ids_flatbuffer(model, seq_len: int, mode: str) -> bytes:
    """The same model with int32 id inputs [1, seq_len]: tokenization happens outside."""
    spec = [tf.TensorSpec([1, seq_len], tf.int32, name=name) for name in INPUT_NAMES]

    def serve(*ids):
        return {"logits": model(dict(zip(INPUT_NAMES, ids)), training=False)}

    module = tf.Module()
    module.model_variables = [v.value for v in model.variables]  # see build_text_module
    module.serve = tf.function(serve, input_signature=spec)
    return convert_module(module, {"serving_default": module.serve}, mode, custom_ops=False)


def _tokenizer_flatbuffer(tokenizer) -> bytes:
    """Tokenization alone as a .tflite: strings [1] -> token_ids [1, seq_len]."""
    module = tf.Module()
    module.serve = tf.function(
        lambda text: {"token_ids": encode_for_tflite(tokenizer, text)["token_ids"]},
        input_signature=[tf.TensorSpec([1], tf.string)],
    )
    return convert_module(module, {"serving_default": module.serve})


def _measure(name, text, tokenizer, runners: dict, runs: int) -> dict:
    strings = np.array([text.encode()], dtype=object)
    ids = {k: v.numpy() for k, v in tokenizer(tf.constant([text])).items()}
    calls = {
        "text": lambda: runners["text"](text=strings),
        "ids": lambda: runners["ids"](**ids),
        "tok": lambda: runners["tok"](text=strings),
        "eager": lambda: tokenizer(tf.constant([text])),
    }
    np.testing.assert_allclose(calls["text"]()["logits"], calls["ids"]()["logits"], atol=1e-4)
    np.testing.assert_array_equal(calls["tok"]()["token_ids"], ids["token_ids"])
    times = {k: [] for k in calls}
    for _ in range(10):  # warm-up
        for call in calls.values():
            call()
    for i in range(runs):
        # Alternate the order so neither model always runs with a warmer cache.
        for key in list(calls) if i % 2 == 0 else list(calls)[::-1]:
            start = time.perf_counter()
            calls[key]()
            times[key].append(time.perf_counter() - start)
    medians = {k: 1000 * statistics.median(v) for k, v in times.items()}
    num_tokens = int(ids["padding_mask"].sum())
    return {"input": name, "tokens": num_tokens, **medians}


def _print_table(args, dims, tokenizer, rows, sizes):
    print(f"# TFLite latency with and without in-graph tokenization ({datetime.date.today()})\n")
    print(
        f"{dims['num_layers']} layers, hidden {dims['hidden_size']}, {dims['num_heads']} heads, "
        f"intermediate {dims['intermediate_size']}, seq {dims['seq_len']}, "
        f"vocab {tokenizer.vocab_size}; {args.mode}; batch 1; {args.threads} thread(s); "
        f"median of {args.runs} interleaved runs; {_cpu_name()}, {os.cpu_count()} cores; "
        f".tflite {sizes[0] / 1e6:.2f} MB (strings in) / {sizes[1] / 1e6:.2f} MB (ids in)\n"
    )
    print(
        "| input | tokens | strings in (ms) | ids in (ms) | difference (ms) "
        "| tokenizer-only .tflite (ms) | eager TF tokenizer (ms) |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(
            f"| {r['input']} | {r['tokens']} | {r['text']:.3f} | {r['ids']:.3f} "
            f"| {r['text'] - r['ids']:.3f} | {r['tok']:.3f} | {r['eager']:.3f} |"
        )


def _cpu_name() -> str:
    try:
        lines = Path("/proc/cpuinfo").read_text().splitlines()
        return next(
            line.split(":", 1)[1].strip() for line in lines if line.startswith("model name")
        )
    except (OSError, StopIteration):
        return platform.processor() or platform.machine()


if __name__ == "__main__":
    main()
