"""KDLSQ tables (the paper's Tables 4-5 form) from `benchmarks/kdlsq_study.sh` run directories.

For each dataset: the float teacher, then every scheme × method row with the score before
training (post-training LSQ at the initial steps) and after, and for each qat export its
.tflite size, packed size, top-1 agreement with Keras on the whole dev set, its accuracy and
its p50 latency (1 thread, LiteRT, median of `--runs`, all models timed in one process).
Rows run with several seeds (`--set seed=N`) get a mean ± standard error line under the table.
Also writes `<root>/kdlsq_records.json` (the run records the table came from); with
`--records DIR`, copies it and each run's record files (no weights) to DIR/<run>/.

Usage: python benchmarks/kdlsq_table.py runs/kdlsq [--runs 50] [--records docs/runs/kdlsq]
    [--keep docs/runs/kdlsq/kdlsq_records.json] > runs/logs/kdlsq_table.md
`--keep` carries the rows of runs that are not under runs/kdlsq (trained on another machine)
from the earlier table record, their p50 marked as timed then.
"""

import argparse
import json
import shutil
import statistics
import sys
from pathlib import Path

import yaml

RECORD_FILES = ("metrics.json", "config.yaml", "history.csv", "export/qat.json")

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
    config = yaml.safe_load((run / "config.yaml").read_text())
    record = {
        "run": run.name,
        "scheme": q["scheme"],
        "method": q["method"],
        "init": q["init"],
        "per_channel": config["quantization"].get("per_channel", False),
        "seed": config.get("seed", 0),
        "eval_before_training": metrics["eval_before_training"],
        "eval": metrics["eval"],
        "source": Path(metrics["source"]["run"]).name,
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


def _markdown(group, records):
    first = records[0]
    lines = [
        f"### {group}",
        "",
        f"Float model ({first['source']}): {_score(first['float_eval'])}.",
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
            _setup(r),
            _score(r["eval_before_training"]),
            _score(r["eval"]),
            _score(r["tflite_eval"]) if exported and r["tflite_eval"] else "–",
            " / ".join(f"{v:.4f}" for v in r["agreement"].values()) if exported else "–",
            f"{r['tflite_mb']:.2f}" if exported else "–",
            f"{r['packed_mb']:.2f}",
            f"{r['p50_ms']:.2f}{'*' if r.get('earlier') else ''}" if exported else "–",
            f"{r['train_examples']} × {r['steps']}",
            f"{r['wall_time_s'] / 60:.0f}",
        ]
        lines.append("| " + " | ".join(cells) + " |")
    if any(r.get("earlier") for r in records):
        note = "\\* timed by an earlier run of this script (its record kept; no weights here)."
        lines += ["", note]
    return "\n".join(lines + _seed_summaries(records))


def _setup(record, with_seed=True):
    return (
        record["init"]
        + (", per-channel" if record["per_channel"] else "")
        + (f", seed {record['seed']}" if with_seed and record["seed"] else "")
    )


def _mean_se(values):
    mean = statistics.fmean(values)
    return f"{100 * mean:.2f} ± {100 * statistics.stdev(values) / len(values) ** 0.5:.2f}"


def _seed_summaries(records):
    """Mean ± standard error over seeds of each row that was run with more than one seed."""
    groups = {}
    for r in records:
        key = (
            r["scheme"],
            r["method"],
            r["init"],
            r["per_channel"],
            r["train_examples"],
            r["steps"],
        )
        groups.setdefault(key, []).append(r)
    lines = []
    for (scheme, method, *_), rows in groups.items():
        if len(rows) < 2:
            continue
        seeds = ", ".join(str(r["seed"]) for r in rows)
        after = "; ".join(
            f"{name} {_mean_se([r['eval'][name] for r in rows])}"
            for name in sorted(rows[0]["eval"])
        )
        setup = _setup(rows[0], with_seed=False)
        text = f"- {scheme} {METHOD_NAMES[method]} {setup}, seeds {seeds}: after {after}"
        if all("agreement" in r for r in rows):
            text += "; agreement " + " / ".join(
                _mean_se([r["agreement"][k] for r in rows]) for k in rows[0]["agreement"]
            )
        lines.append(text + " (mean ± s.e.).")
    return ["", *lines] if lines else []


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root", type=Path)
    parser.add_argument("--runs", type=int, default=50, help="timed runs per model")
    parser.add_argument("--records", type=Path, help="copy the run records here")
    parser.add_argument(
        "--keep",
        type=Path,
        help="an earlier kdlsq_records.json: its rows for runs not under root stay in the "
        "tables (a fresh machine has the records, not the weights), p50 as timed then (*)",
    )
    args = parser.parse_args(argv)
    runs = sorted(p for p in args.root.iterdir() if (p / "metrics.json").is_file())
    records = {run.name: _row(run, args.runs) for run in runs}
    if args.keep:
        for record in _earlier_records(args.keep):
            records.setdefault(record["run"], {**record, "earlier": True})
    groups = {}
    for name, record in sorted(records.items()):
        # One table per dataset and float model: the teacher's rows and an SPS student's.
        groups.setdefault(f"{name.split('_')[0]} from {record['source']}", []).append(record)
    for group, records in groups.items():
        print(_markdown(group, records), end="\n\n")
    (args.root / "kdlsq_records.json").write_text(json.dumps(groups, indent=1) + "\n")
    if args.records:
        _copy_records(runs, args.root / "kdlsq_records.json", args.records)


def _earlier_records(path):
    return [record for group in json.loads(path.read_text()).values() for record in group]


def _copy_records(runs, table_record, destination):
    destination.mkdir(parents=True, exist_ok=True)
    shutil.copy(table_record, destination / table_record.name)
    for run in runs:
        for name in RECORD_FILES:
            if (run / name).is_file():
                (destination / run.name / name).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy(run / name, destination / run.name / name)


if __name__ == "__main__":
    sys.exit(main())
