"""Training-loss curves of KDLSQ runs side by side (Algorithm 1 vs constant step init).

Reads each run's history.csv (one row per logged epoch) and metrics.json, draws the total
loss and every loss term against training steps in one PNG, and prints the final scores.

Usage: python benchmarks/kdlsq_init_curves.py runs/kdlsq/mrpc_2-2-8_lsq_kd_gt \
           runs/kdlsq/mrpc_2-2-8_lsq_kd_gt_constant --output docs/kdlsq_init_curves.png
"""

import argparse
import csv
import json
from pathlib import Path

TERMS = ("loss", "gt_loss", "kd_loss", "hidden_loss", "attention_loss", "embedding_loss")


def _history(run):
    rows = list(csv.DictReader((run / "history.csv").open()))
    metrics = json.loads((run / "metrics.json").read_text())
    # A resumed run's history covers every epoch, its step count only this session's.
    train = metrics["train"]
    steps_per_epoch = train["steps_this_session"] // max(train["epochs_this_session"], 1)
    return rows, steps_per_epoch, metrics


def main(argv=None):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", type=Path)
    parser.add_argument("--output", type=Path, required=True)
    args = parser.parse_args(argv)
    terms = [t for t in TERMS if t in _history(args.runs[0])[0][0]]
    figure, axes = plt.subplots(1, len(terms), figsize=(3.2 * len(terms), 3.0))
    for run in args.runs:
        rows, steps_per_epoch, metrics = _history(run)
        steps = [(int(r["epoch"]) + 1) * steps_per_epoch for r in rows]
        label = metrics["quantization"]["init"]
        for axis, term in zip(axes, terms, strict=True):
            axis.plot(steps, [float(r[term]) for r in rows], marker="o", label=label)
            axis.set_title(term)
            axis.set_xlabel("step")
        scores = ", ".join(f"{k} {100 * v:.1f}" for k, v in sorted(metrics["eval"].items()))
        before = ", ".join(
            f"{k} {100 * v:.1f}" for k, v in sorted(metrics["eval_before_training"].items())
        )
        print(f"{run.name}: init {label}; before training {before}; after {scores}")
    axes[0].legend()
    figure.suptitle(", ".join(run.name for run in args.runs), fontsize=8)
    figure.tight_layout()
    args.output.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(args.output, dpi=110)


if __name__ == "__main__":
    main()
