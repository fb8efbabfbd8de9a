"""Where slot F1 is lost: CoNLL F1 per slot type of finished intent + slot (or tagging) runs
on their eval split, side by side, most points lost first.

Each run's Keras model tags the eval words as `tfcompress` scores them (`TaskRuntime.
predicted_word_tags`); `tfcompress.data.slot_f1_by_type` (seqeval) breaks the micro F1 down
by type. Rows are ordered by the spans the last run misses beyond the first (support ×
F1 gap), so a teacher first and a student last puts the student's largest losses on top.

    python benchmarks/slot_f1_by_type.py runs/teacher_snips_minilm \\
        runs/mixed_vocab/snips_kd_words1_swap_stage2_h96 \\
        --out docs/runs/mixed_vocab/slot_f1_by_type.json

`--seeds` scores each run with its `<run>_seed<N>` siblings and shows the mean F1 per type
(one span of a 60-span type moves one seed's F1 by 1.7 points). `--constrained` scores the
tags `BioTagDecoder` decodes (`slot_f1_constrained`) instead of argmax; `--both` puts each
run twice, argmax then constrained.
"""

import argparse
import json
import os
import statistics
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def scores_by_type(run_dir, constrained=False):
    from tfcompress.data import slot_f1_by_type
    from tfcompress.tasks import FinishedRun

    run = FinishedRun.read(run_dir)
    runtime = run.task_runtime()
    tags = runtime.predicted_word_tags(run.load_model(), constrained=constrained)
    return slot_f1_by_type(runtime.eval.tags, tags)


def seed_runs(run):
    return [run, *sorted(run.parent.glob(f"{run.name}_seed*"))]


def mean_over_seeds(per_seed):
    """{slot: {"f1": mean F1 over the seeds (0 where a seed predicted none), "support"}}."""
    slots = {slot: s[slot]["support"] for s in per_seed for slot in s}
    return {
        slot: {
            "f1": statistics.fmean(s.get(slot, {"f1": 0.0})["f1"] for s in per_seed),
            "support": support,
            "seeds": len(per_seed),
        }
        for slot, support in slots.items()
    }


def table(names, scores):
    first, last = scores[0], scores[-1]

    def lost(slot):
        gap = first[slot]["f1"] - last.get(slot, {"f1": 0.0})["f1"]
        return gap * first[slot]["support"]

    lines = [
        "| slot | spans | " + " | ".join(names) + " | spans lost, last vs first |",
        "|---|---:|" + "---:|" * len(names) + "---:|",
    ]
    for slot in sorted(first, key=lost, reverse=True):
        f1s = " | ".join(f"{100 * s[slot]['f1']:.1f}" if slot in s else "—" for s in scores)
        lines.append(f"| {slot} | {first[slot]['support']} | {f1s} | {lost(slot):.1f} |")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", type=Path)
    parser.add_argument("--out", type=Path, help="write {run: {slot: scores}} here as JSON")
    parser.add_argument("--seeds", action="store_true", help="mean over each run's _seedN runs")
    decoding = parser.add_mutually_exclusive_group()
    decoding.add_argument("--constrained", action="store_true", help="BIO-constrained tags")
    decoding.add_argument("--both", action="store_true", help="each run argmax, then constrained")
    args = parser.parse_args(argv)
    modes = [False, True] if args.both else [args.constrained]
    columns = [(run, constrained) for run in args.runs for constrained in modes]
    groups = [seed_runs(run) if args.seeds else [run] for run, _ in columns]
    scores = [
        mean_over_seeds([scores_by_type(r, constrained) for r in group])
        if args.seeds
        else scores_by_type(group[0], constrained)
        for group, (_, constrained) in zip(groups, columns, strict=True)
    ]
    names = [
        group[0].name
        + (f" (n={len(group)})" if args.seeds else "")
        + (", constrained" if constrained else "")
        for group, (_, constrained) in zip(groups, columns, strict=True)
    ]
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        keys = [f"{run}, constrained" if c else str(run) for run, c in columns]
        records = dict(zip(keys, scores, strict=True))
        args.out.write_text(json.dumps(records, indent=1) + "\n")
    print(table(names, scores))


if __name__ == "__main__":
    sys.exit(main())
