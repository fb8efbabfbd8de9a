"""Which ops to keep in float: attention, softmax, LayerNorm and GELU islands, int16x8, float16.

For one finished run, exports the ids-in model with length buckets in each variant below,
checks each against the Keras model on the whole eval split (argmax agreement and task
metrics of the .tflite), and times every variant per real eval sentence in interleaved
rounds (1 thread, LiteRT + XNNPACK; `benchmarks/sentence_latency.py`'s timer and rotation):

  float                   no quantization
  float16                 float16 weights (XNNPACK runs them in float32 unless the CPU has
                          float16 arithmetic and the model asks for it)
  int8                    our default: int8 FCs, float islands (FLOAT_ISLAND_OPS)
  int8 + int8 attention   the attention matmuls (BATCH_MATMUL) int8 too
  int8 + int8 softmax     ... and SOFTMAX int8
  int8 all integer        no float islands (the stock converter's full-integer model)
  int16x8                 int16 activations, int8 weights, every op

    python benchmarks/attention_variants.py runs/latency/snips_student_l3 \
        --out docs/runs/attention_variants/snips_student_l3.json
"""

import argparse
import math
import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parent))

from sentence_latency import eval_texts, interleave, record_header, spread  # noqa: E402

from tfcompress.export.converter import FLOAT_ISLAND_OPS  # noqa: E402


def _islands_without(*ops):
    return [op for op in FLOAT_ISLAND_OPS if op not in ops]


VARIANTS = {
    "float": {"mode": "float"},
    "float16": {"mode": "float16"},
    "int8": {"mode": "int8"},
    "int8 + int8 attention": {"mode": "int8", "float_ops": _islands_without("BATCH_MATMUL")},
    "int8 + int8 softmax": {
        "mode": "int8",
        "float_ops": _islands_without("BATCH_MATMUL", "SOFTMAX"),
    },
    "int8 all integer": {"mode": "int8", "float_ops": []},
    "int16x8": {"mode": "int16x8"},
}


def export_variants(run_dir, names, buckets, calibration_examples, directory):
    """{name: export report} (every eval example verified, never failing on agreement)."""
    from tfcompress.export.run_export import export_run

    reports = {}
    for name in names:
        output = Path(directory) / (name.replace(" ", "_").replace("+", "plus") + ".tflite")
        reports[name] = export_run(
            run_dir,
            output=output,
            representative_examples=calibration_examples,
            verify_examples=0,
            min_agreement=0.0,
            max_abs_diff=math.inf,
            buckets=tuple(buckets),
            **VARIANTS[name],
        )
    return reports


def main(argv=None):
    args = parse_args(argv)
    from tfcompress.atomic_write import write_json_atomic
    from tfcompress.latency.sentence_timer import SentenceTimer, id_feeds
    from tfcompress.tasks import FinishedRun

    runtime = FinishedRun.read(args.run_dir).task_runtime()
    texts, pairs = eval_texts(runtime)
    chosen = spread(len(texts), args.sentences)
    feeds = id_feeds(
        runtime.tokenizer,
        [texts[i] for i in chosen],
        None if pairs is None else [pairs[i] for i in chosen],
    )
    with tempfile.TemporaryDirectory() as directory:
        reports = export_variants(
            args.run_dir, args.variants, args.buckets, args.calibration_examples, directory
        )
        timers = {name: SentenceTimer(r["tflite_path"], feeds) for name, r in reports.items()}
    interleave(list(timers.values()), args.rounds)
    result = summarize(args, runtime, reports, timers)
    print(markdown(result))
    if args.out:
        write_json_atomic(args.out, result)


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", help="a finished finetune/distill run")
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    parser.add_argument("--buckets", type=int, nargs="+", default=[16, 32, 64])
    parser.add_argument("--sentences", type=int, default=300, help="eval sentences timed")
    parser.add_argument("--rounds", type=int, default=5, help="times each sentence is run")
    parser.add_argument("--calibration-examples", type=int, default=512)
    parser.add_argument("--out", help="write the JSON record here")
    return parser.parse_args(argv)


def summarize(args, runtime, reports, timers):
    rows = {}
    for name, report in reports.items():
        rows[name] = {
            **VARIANTS[name],
            **timers[name].summary(),
            "size_mb": report["size_bytes"] / 2**20,
            "float_compute_ops": report["float_ops"],
            "argmax_agreement": report["parity"]["argmax_agreement"],
            "max_abs_diff": report["parity"]["max_abs_diff"],
            "metrics": report["accuracy"],
        }
    return {
        **record_header("attention_variants.py"),
        "run_dir": str(args.run_dir),
        "task": runtime.task,
        "sequence_length": runtime.tokenizer.sequence_length,
        "buckets": args.buckets,
        "eval_examples": len(runtime.eval),
        "rounds": args.rounds,
        "keras_metrics": next(iter(reports.values()))["keras_accuracy"],
        "rows": rows,
    }


def markdown(result):
    rows = result["rows"]
    metric_names = list(result["keras_metrics"])
    header = ["variant", "p50 ms", "p90 ms", "MB", "min agreement", *metric_names]
    lines = [
        f"{result['task']}, {next(iter(rows.values()))['sentences']} eval sentences, "
        f"buckets {result['buckets']} + {result['sequence_length']}, 1 thread",
        "",
        "| " + " | ".join(header) + " |",
        "|" + "---|" * len(header),
    ]
    for name, row in rows.items():
        cells = [
            name,
            f"{row['p50_ms']:.3f}",
            f"{row['p90_ms']:.3f}",
            f"{row['size_mb']:.2f}",
            f"{min(row['argmax_agreement'].values()):.4f}",
            *(f"{row['metrics'][m]:.4f}" for m in metric_names),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    keras = ", ".join(f"{m} {v:.4f}" for m, v in result["keras_metrics"].items())
    lines.append(f"\nKeras model: {keras}")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
