"""Where slot F1 is lost: CoNLL F1 per slot type of finished intent + slot (or tagging) runs
on their eval split, side by side, most points lost first.

Each run's Keras model tags the eval words as `tfcompress` scores them (`TaskRuntime.
predicted_word_tags`); `tfcompress.data.slot_f1_by_type` (seqeval) breaks the micro F1 down
by type. Rows are ordered by the spans the last run misses beyond the first (support ×
F1 gap), so a teacher first and a student last puts the student's largest losses on top.

    python benchmarks/slot_f1_by_type.py runs/teacher_snips_minilm \\
        runs/mixed_vocab/snips_kd_words1_swap_stage2_h96 \\
        --out docs/runs/mixed_vocab/slot_f1_by_type.json
"""

import argparse
import json
import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def scores_by_type(run_dir):
    from tfcompress.data import slot_f1_by_type
    from tfcompress.tasks import FinishedRun

    run = FinishedRun.read(run_dir)
    runtime = run.task_runtime()
    tags = runtime.predicted_word_tags(run.load_model())
    return slot_f1_by_type(runtime.eval.tags, tags)


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
    args = parser.parse_args(argv)
    scores = [scores_by_type(run) for run in args.runs]
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        records = {str(run): s for run, s in zip(args.runs, scores, strict=True)}
        args.out.write_text(json.dumps(records, indent=1) + "\n")
    print(table([run.name for run in args.runs], scores))


if __name__ == "__main__":
    sys.exit(main())
