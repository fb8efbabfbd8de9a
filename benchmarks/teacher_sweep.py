"""Sweep a teacher recipe over pooling × learning rate × epochs × seeds and summarize.

Each grid point is an ordinary `tfcompress finetune` run under --runs-root (a finished one is
reused, an interrupted one resumes, so a killed sweep continues where it stopped). Each run's
metrics.json is copied to --records (a few KB) and summary.md there gives mean ± standard error
over seeds of every eval metric.

Usage (repository root, ../shared beside it):
  python benchmarks/teacher_sweep.py --config configs/teacher_mrpc_minilm.yaml \
      --pooling cls mean --learning-rate 5e-5 1e-4 --epochs 3 --seeds 0 1 2 \
      --runs-root runs/teacher_sweep/mrpc --records docs/runs/teacher_sweep/mrpc
"""

import argparse
import itertools
import json
import re
import shutil
import statistics
from pathlib import Path

import yaml

from tfcompress.training import load_finetune_config, run_finetune


def grid(args):
    """(pooling, lr, epochs, seed), seeds outermost: a sweep cut short still covers every setting."""
    for seed, epochs, learning_rate, pooling in itertools.product(
        args.seeds, args.epochs, args.learning_rate, args.pooling
    ):
        yield pooling, learning_rate, epochs, seed


def run_name(pooling, learning_rate, epochs, seed):
    return f"{pooling}_lr{learning_rate:g}_ep{epochs}_seed{seed}"


def run_point(args, pooling, learning_rate, epochs, seed):
    name = run_name(pooling, learning_rate, epochs, seed)
    output = Path(args.runs_root) / name
    metrics_path = output / "metrics.json"
    if not metrics_path.is_file():
        overrides = {
            "model.pooling": pooling,
            "training.learning_rate": learning_rate,
            "training.epochs": epochs,
            "seed": seed,
            "output_dir": str(output),
            **{key: yaml.safe_load(value) for key, value in (p.split("=", 1) for p in args.set)},
        }
        run_finetune(load_finetune_config(args.config, overrides))
    records = Path(args.records) / name
    records.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(metrics_path, records / "metrics.json")
    return json.loads(metrics_path.read_text())


def recorded_results(records):
    """Every point recorded under `records` (this sweep's and earlier ones), by its name."""
    pattern = re.compile(r"(\w+)_lr([\d.e-]+)_ep(\d+)_seed(\d+)")
    results = {}
    for path in sorted(Path(records).glob("*/metrics.json")):
        match = pattern.fullmatch(path.parent.name)
        if match:
            pooling, learning_rate, epochs, seed = match.groups()
            point = (pooling, float(learning_rate), int(epochs), int(seed))
            results[point] = json.loads(path.read_text())
    return results


def mean_and_error(values):
    mean = statistics.fmean(values)
    error = statistics.stdev(values) / len(values) ** 0.5 if len(values) > 1 else float("nan")
    return mean, error


def summary_table(results):
    """Markdown: one row per (pooling, lr, epochs), mean ± standard error over seeds."""
    groups = {}
    for (pooling, learning_rate, epochs, seed), metrics in results.items():
        groups.setdefault((pooling, learning_rate, epochs), []).append((seed, metrics))
    names = sorted({name for metrics in results.values() for name in metrics["eval"]})
    lines = [
        "| pooling | lr | epochs | seeds | " + " | ".join(names) + " | train s (mean) |",
        "|---|---|---|---|" + "---|" * len(names) + "---|",
    ]
    for (pooling, learning_rate, epochs), runs in sorted(groups.items()):
        cells = []
        for name in names:
            mean, error = mean_and_error([100 * m["eval"][name] for _, m in runs])
            cells.append(f"{mean:.2f}" + (f" ± {error:.2f}" if len(runs) > 1 else " (one seed)"))
        wall = statistics.fmean(m["train"]["wall_time_s"] for _, m in runs)
        seeds = ",".join(str(seed) for seed, _ in sorted(runs, key=lambda r: r[0]))
        lines.append(
            f"| {pooling} | {learning_rate:g} | {epochs} | {seeds} | "
            + " | ".join(cells)
            + f" | {wall:.0f} |"
        )
    return "\n".join(lines) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", required=True)
    parser.add_argument("--pooling", nargs="+", default=["cls", "mean"])
    parser.add_argument("--learning-rate", nargs="+", type=float, default=[5e-5])
    parser.add_argument("--epochs", nargs="+", type=int, default=[3])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--set", nargs="*", default=[], help="KEY=VALUE recipe overrides")
    parser.add_argument("--runs-root", required=True)
    parser.add_argument("--records", required=True)
    args = parser.parse_args()
    for point in grid(args):
        run_point(args, *point)
    # The summary covers every point recorded there, so sweeps run in parts add up.
    table = summary_table(recorded_results(args.records))
    command = "python benchmarks/teacher_sweep.py " + " ".join(
        f"--{k.replace('_', '-')} {' '.join(map(str, v)) if isinstance(v, list) else v}"
        for k, v in vars(args).items()
        if v not in ([], None)
    )
    (Path(args.records) / "summary.md").write_text(f"`{command}`\n\n{table}")
    print(table)


if __name__ == "__main__":
    main()
