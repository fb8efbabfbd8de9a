"""TFLite latency and parity with and without in-graph tokenization, batch 1, one thread.

Exports one classifier twice in the same mode, through the same pipeline
(tfcompress.export): as a strings-in text model (`export_text_model`, tokenizer in the graph)
and as an ids-in model (`export_tflite`, tokenization done outside, not timed). Both calibrate
on the same texts and are verified against the Keras model on the same eval texts (top-1
agreement, per-token outputs on real tokens only), and against each other. Then runs them
interleaved, the order reversed every other round, and reports the median of each per input,
plus tokenization alone: as a .tflite and as the eager TensorFlow WordPieceTokenizer (what a
Python host would otherwise run).

The model is either a trained run's (`--run-dir`: its model.keras and vocab.txt) or randomly
initialised (`--preset`; the timing does not depend on the weights, but agreement on
near-tied random logits means little). Texts are the library's synthetic intent/slot
utterances: calibration = `generate_intent_slot_data(N, seed=0)` (the first N training
examples of a `format: synthetic` run with seed 0), eval = `generate_intent_slot_data(M,
seed=1)` (that run's eval set).

Usage (repository root):
  python benchmarks/tokenizer_latency.py                  # random, 6 layers, hidden 256, seq 128
  python benchmarks/tokenizer_latency.py --preset tiny --runs 200
  python benchmarks/tokenizer_latency.py --run-dir /tmp/demo_run/student --seq-len 32 \\
      --mode int8 --runs 200 --json docs/runs/tokenizer_latency/metrics.json
"""

import argparse
import datetime
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from ai_edge_litert.interpreter import Interpreter  # noqa: E402

from tfcompress.data.synthetic import generate_intent_slot_data  # noqa: E402
from tfcompress.data.vocabulary import DEFAULT_RESERVED_TOKENS, ascii_tokens  # noqa: E402
from tfcompress.data.wordpiece_tokenizer import WordPieceTokenizer  # noqa: E402
from tfcompress.export import EXPORT_MODES  # noqa: E402
from tfcompress.export.converter import convert  # noqa: E402
from tfcompress.export.text_model import (  # noqa: E402
    build_tokenizer_module,
    export_text_model,
    load_text_interpreter,
    run_text_model,
)
from tfcompress.export.tflite_export import export_tflite  # noqa: E402
from tfcompress.export.tflite_model_runner import TFLiteModelRunner  # noqa: E402
from tfcompress.export.verification import compare_outputs  # noqa: E402
from tfcompress.models import Encoder, EncoderConfig, build_classifier  # noqa: E402

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
    tokenizer, model, described = _model_and_tokenizer(args)
    calibration = _synthetic_texts(args.calibration_examples, seed=0)
    evaluation = _synthetic_texts(args.eval_examples, seed=1)
    inputs = {**TEXTS, "first eval utterance": evaluation[0]}
    with tempfile.TemporaryDirectory() as tmp:
        text_path, ids_path = Path(tmp, "text.tflite"), Path(tmp, "ids.tflite")
        text_report = export_text_model(
            model,
            tokenizer,
            text_path,
            args.mode,
            representative_texts=calibration,
            verify_texts=evaluation,
            min_agreement=0.0,  # report the numbers, never stop on them
        )
        ids_report = export_tflite(
            model,
            ids_path,
            args.mode,
            sequence_length=tokenizer.sequence_length,
            representative_inputs=[_ids(tokenizer, calibration)],
            verify_inputs=[_ids(tokenizer, evaluation)],
            min_agreement=0.0,
        )
        between = _strings_vs_ids(text_path, ids_path, tokenizer, evaluation)
        tok_path = Path(tmp, "tokenizer.tflite")
        tok_path.write_bytes(convert(build_tokenizer_module(tokenizer), "float", custom_ops=True))
        runners = {
            "text": load_text_interpreter(text_path, args.threads).get_signature_runner(),
            "ids": Interpreter(str(ids_path), num_threads=args.threads).get_signature_runner(),
            "tok": load_text_interpreter(tok_path, args.threads).get_signature_runner(),
        }
        rows = [
            _measure(name, text, tokenizer, runners, args.runs) for name, text in inputs.items()
        ]
    metrics = _metrics(args, described, tokenizer, text_report, ids_report, between, rows)
    _print_tables(metrics)
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(metrics, indent=1) + "\n")


def _parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run-dir", help="a finished run: model.keras and vocab.txt")
    parser.add_argument("--cased", action="store_true", help="the run's vocab is cased")
    parser.add_argument("--preset", choices=sorted(PRESETS), default="small")
    for name in PRESETS["tiny"]:
        parser.add_argument("--" + name.replace("_", "-"), dest=name, type=int)
    parser.add_argument("--vocab", help=f"vocab.txt (default: {MINILM_VOCAB} if present)")
    parser.add_argument("--mode", choices=[m for m in EXPORT_MODES if m != "qat"], default="float")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--runs", type=int, default=100, help="timed runs per model and input")
    parser.add_argument("--calibration-examples", type=int, default=512)
    parser.add_argument("--eval-examples", type=int, default=500)
    parser.add_argument("--json", help="also write the figures here (a run record)")
    return parser.parse_args()


def _model_and_tokenizer(args):
    if args.run_dir:
        import keras

        import tfcompress.models  # noqa: F401  (registers the model classes for loading)

        run = Path(args.run_dir)
        model = keras.models.load_model(run / "model.keras", safe_mode=True)
        seq_len = args.seq_len or model.inputs[0].shape[1]
        if seq_len is None:
            sys.exit(f"{run}/model.keras has no fixed sequence length; pass --seq-len")
        tokenizer = WordPieceTokenizer.from_vocab_file(
            run / "vocab.txt", sequence_length=seq_len, lower_case=not args.cased
        )
        return tokenizer, model, {"run_dir": str(run), "weights": "trained", "seq_len": seq_len}
    dims = {
        **PRESETS[args.preset],
        **{k: v for k, v in vars(args).items() if k in PRESETS["tiny"] and v is not None},
    }
    tokenizer = _tokenizer(args.vocab, dims["seq_len"])
    return tokenizer, _model(tokenizer.vocab_size, dims), {**dims, "weights": "random"}


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


def _synthetic_texts(n: int, seed: int) -> list[str]:
    return [" ".join(words) for words in generate_intent_slot_data(n, seed=seed).words]


def _ids(tokenizer, texts) -> dict[str, np.ndarray]:
    return {k: v.numpy() for k, v in tokenizer(tf.constant(texts)).items()}


def _ids_outputs(runner: TFLiteModelRunner, inputs) -> dict[str, np.ndarray]:
    outputs = runner(inputs)
    return outputs if isinstance(outputs, dict) else {"logits": outputs}


def _strings_vs_ids(text_path, ids_path, tokenizer, texts) -> dict:
    """The two .tflite models against each other on the eval texts (real tokens only)."""
    encoded = _ids(tokenizer, texts)
    ids_out = _ids_outputs(TFLiteModelRunner(ids_path.read_bytes()), encoded)
    text_out = run_text_model(load_text_interpreter(text_path), texts)
    numbers = compare_outputs(ids_out, text_out, encoded["padding_mask"])
    return {key: numbers[key] for key in ("max_abs_diff", "argmax_agreement")}


def _measure(name, text, tokenizer, runners: dict, runs: int) -> dict:
    strings = np.array([text.encode()], dtype=object)
    ids = _ids(tokenizer, [text])
    calls = {
        "text": lambda: runners["text"](text=strings),
        "ids": lambda: runners["ids"](**ids),
        "tok": lambda: runners["tok"](text=strings),
        "eager": lambda: tokenizer(tf.constant([text])),
    }
    # Same encoder, same ids: the outputs must match (they are the same graph behind a tokenizer).
    ids_out = calls["ids"]()
    ids_out = {"logits": ids_out["output_0"]} if "output_0" in ids_out else ids_out
    text_out = calls["text"]()
    for output, value in ids_out.items():
        np.testing.assert_allclose(text_out[output], value, atol=1e-4, err_msg=output)
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
    medians = {k: round(1000 * statistics.median(v), 4) for k, v in times.items()}
    return {"input": name, "tokens": int(ids["padding_mask"].sum()), **medians}


def _parity(report: dict) -> dict:
    keep = ("argmax_agreement", "max_abs_diff", "median_margin", "flip_margins", "examples")
    return {key: report["parity"][key] for key in keep}


def _metrics(args, described, tokenizer, text_report, ids_report, between, rows) -> dict:
    import ai_edge_litert
    import tensorflow_text

    return {
        "benchmark": "benchmarks/tokenizer_latency.py",
        "command": "python " + " ".join(sys.argv),
        "date_utc": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M"),
        "machine": {"cpu": _cpu_name(), "cores": os.cpu_count(), "load_avg": os.getloadavg()},
        "versions": {
            "tensorflow": tf.__version__,
            "tensorflow_text": tensorflow_text.__version__,
            "ai_edge_litert": getattr(ai_edge_litert, "__version__", "?"),
        },
        "model": {**described, "vocab_size": tokenizer.vocab_size},
        "mode": args.mode,
        "threads": args.threads,
        "runs": args.runs,
        "texts": {
            "calibration": f"generate_intent_slot_data({args.calibration_examples}, seed=0)",
            "eval": f"generate_intent_slot_data({args.eval_examples}, seed=1)",
        },
        "size_bytes": {"strings_in": text_report["size_bytes"], "ids_in": ids_report["size_bytes"]},
        "float_ops": {"strings_in": text_report["float_ops"], "ids_in": ids_report["float_ops"]},
        "calibration": {
            "strings_in": text_report["calibration"],
            "ids_in": ids_report["calibration"],
        },
        "parity_vs_keras": {"strings_in": _parity(text_report), "ids_in": _parity(ids_report)},
        "id_mismatches": text_report["parity"]["id_mismatches"],
        "strings_in_vs_ids_in": between,
        "latency_ms_median": rows,
    }


def _print_tables(m):
    model = m["model"]
    print(f"# TFLite strings in vs ids in, {m['mode']} ({m['date_utc']} UTC)\n")
    print(
        f"model: {json.dumps(model)}; batch 1; {m['threads']} thread(s); median of {m['runs']} "
        f"interleaved runs; {m['machine']['cpu']}, {m['machine']['cores']} cores; .tflite "
        f"{m['size_bytes']['strings_in'] / 1e6:.2f} MB (strings in) / "
        f"{m['size_bytes']['ids_in'] / 1e6:.2f} MB (ids in)\n"
    )
    print("| model | output | top-1 agreement with Keras | max abs diff | examples |")
    print("|---|---|---:|---:|---:|")
    for which in ("strings_in", "ids_in"):
        parity = m["parity_vs_keras"][which]
        for output, agreement in parity["argmax_agreement"].items():
            print(
                f"| {which.replace('_', ' ')} | {output} | {agreement:.4f} "
                f"| {parity['max_abs_diff'][output]:.4g} | {parity['examples']} |"
            )
    between = m["strings_in_vs_ids_in"]
    print(
        f"\nstrings in vs ids in: agreement {between['argmax_agreement']}, "
        f"max abs diff {between['max_abs_diff']}; float ops {m['float_ops']['strings_in']}\n"
    )
    print(
        "| input | tokens | strings in (ms) | ids in (ms) | difference (ms) "
        "| tokenizer-only .tflite (ms) | eager TF tokenizer (ms) |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|")
    for r in m["latency_ms_median"]:
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
