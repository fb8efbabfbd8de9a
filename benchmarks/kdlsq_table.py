"""KDLSQ tables (the paper's Tables 4-5 form) from `benchmarks/kdlsq_study.sh` run directories.

For each dataset: the float teacher, then every scheme × method row with the score before
training (post-training LSQ at the initial steps) and after, and for each qat export its
.tflite size, packed size, top-1 agreement with Keras on the whole dev set, its accuracy and
its p50 latency (1 thread, LiteRT, median of `--runs`, all models timed in one process).
Also writes `<root>/kdlsq_records.json` (the run records the table came from).

Usage: python benchmarks/kdlsq_table.py runs/kdlsq [--runs 50] > runs/logs/kdlsq_table.md
"""

import argparse
import json
import sys
from pathlib import Path

METHOD_NAMES = {"lsq": "LSQ", "lsq_kd": "LSQ+KD", "lsq_kd_gt": "LSQ+KD+Lgt"}


def _score(evaluation):
    return " / ".join(f"{name} {100 * value:.1f}" for name, value in sorted(evaluation.items()))


def _p50_ms(tflite, runs):
    from tfcompress.latency.host_timing import measure_latency

    result = measure_latency(tflite, threads=(1,), runs=runs, warmup=5)
    return result["results"][0]["p50_ms"]


def _row(run, runs):
    metrics = json.loads((run / "metrics.json").read_text())
    q, train, model = metrics["quantization"], metrics["train"], metrics["model"]
    record = {
        "run": run.name,
        "scheme": q["scheme"],
        "method": q["method"],
        "init": q["init"],
        "eval_before_training": metrics["eval_before_training"],
        "eval": metrics["eval"],
        "float_eval": metrics["source"]["eval"],
        "train_examples": train["examples"],
        "steps": train["steps_this_session"],
        "wall_time_s": train["wall_time_s"],
        "packed_mb": model["packed_mb"],
    }
    export = run / "export" / "qat.json"
    if export.is_file():
        report = json.loads(export.read_text())
        record.update(
            tflite_mb=round(report["size_bytes"] / 2**20, 2),
            agreement=report["parity"]["argmax_agreement"],
            # A failed parity check writes no task metrics (the report says why).
            tflite_eval=report.get("accuracy"),
            parity_passed=report["parity"]["passed"],
            verified_examples=report["parity"]["examples"],
            p50_ms=_p50_ms(run / "export" / "qat.tflite", runs),
        )
    return record


def _markdown(dataset, records):
    first = records[0]
    lines = [
        f"### {dataset}",
        "",
        f"Float teacher: {_score(first['float_eval'])}.",
        "",
        "| W-E-A | method | init | before training | after | TFLite (qat) | agreement | "
        ".tflite MB | packed MB | p50 ms | examples × steps | min |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in records:
        exported = "p50_ms" in r
        cells = [
            r["scheme"],
            METHOD_NAMES[r["method"]],
            r["init"],
            _score(r["eval_before_training"]),
            _score(r["eval"]),
            _score(r["tflite_eval"]) if exported and r["tflite_eval"] else "–",
            " / ".join(f"{v:.4f}" for v in r["agreement"].values()) if exported else "–",
            f"{r['tflite_mb']:.2f}" if exported else "–",
            f"{r['packed_mb']:.2f}",
            f"{r['p50_ms']:.2f}" if exported else "–",
            f"{r['train_examples']} × {r['steps']}",
            f"{r['wall_time_s'] / 60:.0f}",
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root", type=Path)
    parser.add_argument("--runs", type=int, default=50, help="timed runs per model")
    args = parser.parse_args(argv)
    runs = sorted(p for p in args.root.iterdir() if (p / "metrics.json").is_file())
    by_dataset = {}
    for run in runs:
        record = _row(run, args.runs)
        by_dataset.setdefault(run.name.split("_")[0], []).append(record)
    for dataset, records in by_dataset.items():
        print(_markdown(dataset, records), end="\n\n")
    (args.root / "kdlsq_records.json").write_text(json.dumps(by_dataset, indent=1) + "\n")


if __name__ == "__main__":
    sys.exit(main())
