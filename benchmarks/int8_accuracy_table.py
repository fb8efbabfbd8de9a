"""The int8-export accuracy tables of docs/results.md from `benchmarks/int8_accuracy.sh` reports.

Usage: python benchmarks/int8_accuracy_table.py runs/int8_accuracy [--records docs/runs/int8_accuracy]
Prints one markdown table per task (rows in the order the script runs them); with --records,
copies each report (a few KB: parity, flip margins, accuracies, calibration log) there.
"""

import argparse
import json
import shutil
from pathlib import Path


def setting(report):
    """The export flags of a row, as the table shows them."""
    if report["mode"] != "int8":
        return f"`--mode {report['mode']}`"
    calibration = report["calibration"]
    flags = []
    if not calibration["equalize"]:
        flags.append("--no-equalize")
    quantile = calibration["range_quantile"]
    if quantile != 0.99:
        flags.append(f"--range-quantile {quantile:g}")
    return " ".join(f"`{flag}`" for flag in flags) or "default"


def pct(value):
    return f"{100 * value:.2f}"


def row(report):
    parity = report["parity"]
    agreement = " / ".join(pct(v) for v in parity["argmax_agreement"].values())
    max_diff = " / ".join(f"{v:.2f}" for v in parity["max_abs_diff"].values())
    flips = sum(len(v) for v in parity["flip_margins"].values())
    accuracy = " / ".join(
        f"{pct(v)} ({100 * (v - report['keras_accuracy'][k]):+.2f})"
        for k, v in report["accuracy"].items()
    )
    return (
        f"| {setting(report)} | {report.get('calibration_examples', '—')} | {agreement} | {flips} "
        f"| {accuracy} | {max_diff} |"
    )


def table(reports):
    first = reports[0]
    keras = " / ".join(f"{k} {pct(v)}" for k, v in first["keras_accuracy"].items())
    outputs = " / ".join(first["parity"]["argmax_agreement"])
    lines = [
        f"{first['run_dir']}, {first['accuracy_examples']} eval examples; Keras: {keras}",
        "",
        f"| int8 export | calibration examples | top-1 agreement % ({outputs}) | flips "
        "| accuracy (Δ vs Keras) | max abs logit diff |",
        "|---|---:|---:|---:|---|---:|",
    ]
    return "\n".join(lines + [row(r) for r in reports])


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("reports_dir")
    parser.add_argument("--records", help="copy each report here")
    args = parser.parse_args()
    paths = sorted(Path(args.reports_dir).glob("*.json"), key=lambda p: p.stat().st_mtime)
    by_task = {}
    for path in paths:
        by_task.setdefault(path.name.split("_")[0], []).append(json.loads(path.read_text()))
        if args.records:
            Path(args.records).mkdir(parents=True, exist_ok=True)
            shutil.copy(path, Path(args.records) / path.name)
    for task, reports in by_task.items():
        print(f"### {task}\n\n{table(reports)}\n")


if __name__ == "__main__":
    main()
