"""Word-table and LayerNorm statistics of mixed-vocabulary pretraining runs: what a stage-I
table hands to stage II (its mean row, principal components) and how far each student's
LayerNorm scales moved from 1.

Usage: python benchmarks/pretrain_table_stats.py runs/mixed_vocab/stage1_h192 \
         runs/mixed_vocab/stage2_h192 runs/mixed_vocab/nokd_h192 --out stats.json
"""

import argparse
import json
from pathlib import Path

import numpy as np

from tfcompress.tasks.pretrained_run import PretrainedRun


def table_stats(table):
    mean_row = table.mean(axis=0)
    singular = np.linalg.svd(table - mean_row, compute_uv=False) ** 2
    return {
        "shape": list(table.shape),
        "row_norm_median": float(np.median(np.linalg.norm(table, axis=1))),
        "mean_row_norm": float(np.linalg.norm(mean_row)),
        "centered_variance_share_top3": (singular[:3] / singular.sum()).round(4).tolist(),
    }


def run_stats(directory):
    run = PretrainedRun.read(directory, stages=("stage1", "stage2", "nokd"))
    if run.metrics["stage"] == "stage1":
        return {"stage": "stage1", "student_table": table_stats(run.student_table())}
    encoder = run.load_masked_lm().encoder
    gammas = {v.path: float(np.mean(v.numpy())) for v in encoder.weights if "gamma" in v.path}
    return {
        "stage": run.metrics["stage"],
        "word_table": table_stats(encoder.embeddings.word_embeddings.numpy()),
        "layer_norm_gamma_mean": gammas,
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", type=Path)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    stats = {str(run): run_stats(run) for run in args.runs}
    text = json.dumps(stats, indent=1)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")


if __name__ == "__main__":
    main()
