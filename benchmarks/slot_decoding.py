"""Slot F1 of finished intent + slot runs decoded two ways: argmax per word, and the best
well-formed BIO sequence (`tfcompress.data.BioTagDecoder`), for the Keras model and, where
the run has one, its int8 export; and what the decoding costs per utterance.

    python benchmarks/slot_decoding.py runs/teacher_snips_minilm \\
        runs/mixed_vocab/snips_kd_words5_swap_nokd_h96 --seeds \\
        --out docs/runs/mixed_vocab/decoding_2026-12-07/slot_decoding.json

`--seeds` also scores each run's `<run>_seed<N>` siblings, and their int8 files where they
have one. Runs trained since `evaluate` reports "slot_f1_constrained" have both numbers in
their `metrics.json` already; this scores runs of any age from their saved models.
"""

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

from slot_f1_by_type import seed_runs

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def slot_scores(runtime, model):
    scores = runtime.evaluate(model)
    return {k: scores[k] for k in ("intent_accuracy", "slot_f1", "slot_f1_constrained")}


def decode_cost_us(runtime, model, repeats=3):
    """Mean microseconds per utterance to decode the eval split's word logits: argmax
    against `BioTagDecoder` (numpy, one process), the best of `repeats` passes each; and
    how many utterances the two decode differently."""
    import numpy as np

    from tfcompress.data import BioTagDecoder, word_level_predictions

    outputs, labels = runtime.predictions(model)
    words = [
        np.asarray(w, np.float32)
        for w in word_level_predictions(outputs["slot_logits"], labels["slot_logits"])
    ]
    decoder = BioTagDecoder(runtime.labels["tags"])

    def per_utterance(decode):
        passes = []
        for _ in range(repeats):
            start = time.perf_counter()
            for w in words:
                decode(w)
            passes.append((time.perf_counter() - start) / len(words) * 1e6)
        return min(passes)

    changed = sum(decoder.decode(w) != w.argmax(-1).tolist() for w in words)
    return {
        "argmax": per_utterance(lambda w: w.argmax(-1)),
        "constrained": per_utterance(decoder.decode),
        "utterances_changed": changed,
        "utterances": len(words),
        "median_words": statistics.median(len(w) for w in words),
        "tags": len(decoder.tags),
    }


def score_run(run_dir, with_int8, with_cost):
    from tfcompress.export.tflite_model_runner import TFLiteModelRunner
    from tfcompress.tasks import FinishedRun

    run = FinishedRun.read(run_dir)
    runtime = run.task_runtime()
    model = run.load_model()
    record = {"keras": slot_scores(runtime, model)}
    int8 = run_dir / "export" / "int8.tflite"
    if with_int8 and int8.is_file():
        record["int8"] = slot_scores(runtime, TFLiteModelRunner(int8.read_bytes()))
    if with_cost:
        record["decode_us"] = decode_cost_us(runtime, model)
    return record


def _mean_std(values):
    spread = f" ± {100 * statistics.stdev(values):.1f}" if len(values) > 1 else ""
    return f"{100 * statistics.fmean(values):.1f}{spread}"


def table(records):
    lines = [
        "| run | seeds | intent | slot F1 argmax | slot F1 BIO-constrained | gain per seed "
        "| int8 intent / slot F1 argmax / constrained "
        "| utterances decoded differently | decode µs per utterance: argmax / constrained |",
        "|---|---:|---:|---:|---:|---|---|---:|---|",
    ]
    for name, seeds in records.items():
        keras = [s["keras"] for s in seeds]
        gains = ", ".join(f"{100 * (k['slot_f1_constrained'] - k['slot_f1']):+.1f}" for k in keras)
        int8 = [s["int8"] for s in seeds if "int8" in s]
        int8_cell = (
            " / ".join(
                _mean_std([i[k] for i in int8])
                for k in ("intent_accuracy", "slot_f1", "slot_f1_constrained")
            )
            + f" (n={len(int8)})"
            if int8
            else "—"
        )
        cost = seeds[0]["decode_us"]
        lines.append(
            f"| {name} | {len(seeds)} | {_mean_std([k['intent_accuracy'] for k in keras])} "
            f"| {_mean_std([k['slot_f1'] for k in keras])} "
            f"| {_mean_std([k['slot_f1_constrained'] for k in keras])} | {gains} "
            f"| {int8_cell} | {cost['utterances_changed']} of {cost['utterances']} "
            f"| {cost['argmax']:.1f} / {cost['constrained']:.0f} |"
        )
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", type=Path)
    parser.add_argument("--seeds", action="store_true", help="also score each run's _seedN runs")
    parser.add_argument("--no-int8", action="store_true", help="skip the int8 exports")
    parser.add_argument("--out", type=Path, help="write {run: [per-seed records]} here as JSON")
    args = parser.parse_args(argv)
    records = {}
    for run in args.runs:
        if not (run / "metrics.json").is_file():
            print(f"skipped {run}: not a finished run", file=sys.stderr)
            continue
        group = seed_runs(run) if args.seeds else [run]
        records[run.name] = [
            {"run": str(r), **score_run(r, not args.no_int8, with_cost=r == run)}
            for r in group
        ]
        print(f"scored {run.name} ({len(group)} run(s))", file=sys.stderr, flush=True)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(records, indent=1) + "\n")
    print(table(records))


if __name__ == "__main__":
    sys.exit(main())
