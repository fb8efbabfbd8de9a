"""Markdown tables (Pea-KD Tables 4/5 style) from the run directories of the ablation.

Usage: python benchmarks/peakd_table.py runs/peakd
"""

import json
import sys
from pathlib import Path

VARIANTS = [
    ("kd", "KD baseline (PKD, truncated teacher)"),
    ("sps1", "SPS-1 (paired sharing)"),
    ("sps2", "SPS-2 (+ Q/K swap)"),
    ("sps2_ptp", "SPS-2 + PTP"),
    ("ptp1", "SPS-2 + PTP-1 (correct/wrong)"),
    ("ptp2", "SPS-2 + PTP-2 (confident/unconfident)"),
]


def _score(evaluation):
    return " / ".join(f"{name} {100 * value:.1f}" for name, value in sorted(evaluation.items()))


def table(root, dataset):
    rows = []
    teacher = None
    for key, label in VARIANTS:
        path = Path(root) / f"{dataset}_{key}" / "metrics.json"
        if not path.is_file():
            continue
        m = json.loads(path.read_text())
        teacher = teacher or m["teacher"]
        t = m["train"]
        rows.append(
            f"| {label} | {m['model']['parameters'] / 1e6:.2f}M | {m['model']['executed_layers']} "
            f"| {_score(m['eval'])} | {t['examples']} × {t['epochs_this_session']} ep "
            f"({t['steps_this_session']} steps) | {t['wall_time_s'] / 60:.1f} |"
        )
    if not rows:
        return ""
    head = [
        f"### {dataset.upper()} (dev, {m['eval_examples']} examples, seed 0)",
        "",
        "| model | params | layers run | dev score (%) | training | KD wall time (min) |",
        "|---|---|---|---|---|---|",
        f"| teacher (MiniLM-L6-H384) | {teacher['parameters'] / 1e6:.2f}M | 6 "
        f"| {_score(teacher['eval'])} | see Teachers above | |",
    ]
    return "\n".join(head + rows) + "\n"


if __name__ == "__main__":
    root = sys.argv[1] if len(sys.argv) > 1 else "runs/peakd"
    print("\n".join(filter(None, (table(root, ds) for ds in ("sst2", "mrpc")))))
