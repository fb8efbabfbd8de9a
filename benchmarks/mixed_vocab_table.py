"""Mixed-vocabulary tables (the form of Zhao et al.'s Table 2 and GLUE table) and the
stage-I curves, from `benchmarks/mixed_vocab_study.sh` run directories.

Per student size: the distilled student (stage I → II → fine-tune) and its NoKD twin, with
parameters, float and int8 .tflite size, p50 latency of the int8 SNIPS export (1 thread,
LiteRT, batch 1, at the SNIPS sequence length; every model timed in this one process,
interleaved), SNIPS intent accuracy and slot F1 (Keras and int8), SST-2 and MRPC dev
(mean ± std over the seeds present), and the MiniLM teacher's row (its int8 SNIPS export
timed in the same run). Also the pretraining scale of each stage, a PNG of the stage-I
curves (and stage II against NoKD), and `<root>/mixed_vocab_records.json`.

Usage: python benchmarks/mixed_vocab_table.py runs/mixed_vocab [--teacher-root runs]
         [--runs 200] [--png docs/mixed_vocab_curves.png] [--no-latency]
         > runs/logs/mixed_vocab_table.md
(`--no-latency`: scores and sizes only, for a machine that is busy; p50 columns read "—".)
"""

import argparse
import csv
import json
import re
import statistics
import sys
from pathlib import Path

import yaml

INITS = {"stage2": "distilled (stage I → II)", "nokd": "NoKD"}
# Fine-tuned on the labels (the paper), or with the MiniLM task teacher's logits too.
FINETUNES = {
    "": "labels",
    "long_": "labels, 20 ep at 2e-3 (SNIPS)",
    "kd_": "labels + task KD",
    "kd_long_": "labels + task KD, 20 ep at 2e-3 (SNIPS)",
    # L6-H192: at 2e-3 its SNIPS training loss rose from the third epoch on.
    "12ep_": "labels, 12 ep at 1e-3 (SNIPS)",
    "swap_": "labels, slot swap ×2, 7 ep at 2e-3 (SNIPS)",
    "kd_swap_": "labels + task KD, slot swap ×2, 7 ep at 2e-3 (SNIPS)",
    # distill_snips_words.yaml at hidden weight 1 and 5 (its output_dir names the weight).
    "kd_words1_swap_": "labels + task KD + word states ×1, slot swap ×2, 7 ep at 2e-3 (SNIPS)",
    "kd_words5_swap_": "labels + task KD + word states ×5, slot swap ×2, 7 ep at 2e-3 (SNIPS)",
    # The same recipe at L6-H192, at the rate its labels-only SNIPS fine-tune needed.
    "kd_words5_swap_lr1e-3_": (
        "labels + task KD + word states ×5, slot swap ×2, 7 ep at 1e-3 (SNIPS)"
    ),
    # distill_snips_fill.yaml: one swapped copy, one with corpus names the teacher labels.
    "kd_words5_fill_": (
        "labels + task KD + word states ×5, slot swap ×1 + corpus names ×1, 7 ep at 2e-3 (SNIPS)"
    ),
    # The same with names only in place, person and music slots (data.phrase_fill.slots).
    "kd_words5_fillplaces_": (
        "labels + task KD + word states ×5, slot swap ×1 + corpus names in place, person and "
        "music slots ×1, 7 ep at 2e-3 (SNIPS)"
    ),
}


def _metrics(run):
    path = Path(run) / "metrics.json"
    return json.loads(path.read_text()) if path.is_file() else None


def _seed_runs(root, name):
    """metrics of `name` and of its `_seed<N>` siblings."""
    runs = [root / name] + sorted(root.glob(f"{name}_seed*"))
    return [m for m in map(_metrics, runs) if m]


def _mean_std(values):
    if not values:
        return None
    std = statistics.stdev(values) if len(values) > 1 else None
    return {"mean": statistics.fmean(values), "std": std, "n": len(values)}


def _constrained(metrics):
    """Slot F1 of BIO-constrained decoding, over the runs that report it (those trained
    since `evaluate` does)."""
    scores = [m["eval"].get("slot_f1_constrained") for m in metrics]
    return _mean_std([s for s in scores if s is not None])


def _fmt(summary):
    if summary is None:
        return "—"
    text = f"{100 * summary['mean']:.1f}"
    if summary["std"] is not None:
        text += f" ± {100 * summary['std']:.1f} (n={summary['n']})"
    return text


def _export(run, mode):
    path = Path(run) / "export" / f"{mode}.json"
    return json.loads(path.read_text()) if path.is_file() else None


def _interleaved_p50(paths, runs):
    """p50 ms per .tflite, 1 thread: rounds of one invoke each, in alternating order."""
    import numpy as np

    from tfcompress.latency.host_timing import measure_latency

    results = {}
    for rounds in range(2):  # two passes in opposite orders; the median of both passes' p50s
        for path in paths if rounds == 0 else list(reversed(paths)):
            p50 = measure_latency(path, threads=(1,), runs=runs, warmup=10)["results"][0]["p50_ms"]
            results.setdefault(path, []).append(p50)
    return {path: float(np.median(values)) for path, values in results.items()}


def _pretrain_runs(root, h, inits=INITS):
    """(init, name) of each pretraining run of size h: `<init>_h<h>`, then recipe variants
    named `<init>_h<h>_<what changed>` (`stage2_h192_lr3e-4`); twins side by side."""
    runs = [
        (path.name.removeprefix(f"{init}_h{h}"), i, init, path.name)
        for i, init in enumerate(inits)
        for path in [*root.glob(f"{init}_h{h}"), *root.glob(f"{init}_h{h}_*")]
    ]
    return [(init, name) for _, _, init, name in sorted(runs)]


def _config(run):
    return yaml.safe_load((Path(run) / "config.yaml").read_text())


def _learning_rate(run):
    """The run's learning rate as its config.yaml has it, written `3e-4`."""
    mantissa, exponent = f"{_config(run)['training']['learning_rate']:.0e}".split("e")
    return f"{mantissa}e{int(exponent)}"


def _stage_label(run, stage=None):
    """`stage1, lr 1e-4` (`lr 1e-4` without a stage), with what changes what the stage costs
    and learns: the stage-I teacher's frozen layers, stage II's layer loss, a student's
    sequence length other than 128."""
    label = f"lr {_learning_rate(run)}" if stage is None else f"{stage}, lr {_learning_rate(run)}"
    config = _config(run)
    if (config.get("teacher") or {}).get("freeze_layers"):
        label += ", teacher layers frozen"
    if config.get("distill"):
        label += f", stage-I teacher's layers ×{config['distill']['hidden_weight']:g}"
    if config["masking"]["sequence_length"] != 128 and stage != "stage1":
        label += f", {config['masking']['sequence_length']} tokens"
    return label


def _model_name(run, h):
    """`L6-H96-A4`: heads too, since twins of one width may differ in them (4 of 24, 2 of 48)."""
    return f"L6-H{h}-A{_config(run)['student']['encoder']['num_heads']}"


def _run_scale(run):
    """Steps, sequences and token positions over every session of a (resumed) run."""
    config = _config(run)
    steps = len(_history(Path(run) / "history.csv")) * config["training"]["steps_per_epoch"]
    sequences = steps * config["training"]["batch_size"]
    return steps, sequences, sequences * config["masking"]["sequence_length"]


def _student_record(root, h, init, name, finetune):
    pretrain = _metrics(root / name)
    snips = _seed_runs(root, f"snips_{finetune}{name}")
    sst2 = _seed_runs(root, f"sst2_{finetune}{name}")
    mrpc = _seed_runs(root, f"mrpc_{finetune}{name}")
    # A recipe may have run on some tasks only (L6-H192: SST-2 without the 10-epoch SNIPS).
    finetuned = snips or sst2 or mrpc
    if not (pretrain and finetuned):
        return None
    exports = {
        m: _export(root / f"snips_{finetune}{name}", m) for m in ("float", "int8", "int8_text")
    }
    return {
        "student": _model_name(root / name, h),
        "init": init,
        "pretrain_run": name,
        "pretrain_recipe": _stage_label(root / name),
        "finetune": FINETUNES[finetune],
        "parameters": finetuned[0]["model"]["parameters"],
        "pretrain": {"stage": pretrain["stage"], **pretrain["train"], "eval": pretrain["eval"]},
        "snips_intent": _mean_std([m["eval"]["intent_accuracy"] for m in snips]),
        "snips_slot_f1": _mean_std([m["eval"]["slot_f1"] for m in snips]),
        "snips_slot_f1_constrained": _constrained(snips),
        "sst2": _mean_std([m["eval"]["accuracy"] for m in sst2]),
        "mrpc_accuracy": _mean_std([m["eval"]["accuracy"] for m in mrpc]),
        "mrpc_f1": _mean_std([m["eval"]["f1"] for m in mrpc]),
        "float_bytes": exports["float"] and exports["float"]["size_bytes"],
        "int8_bytes": exports["int8"] and exports["int8"]["size_bytes"],
        "int8_snips": exports["int8"] and exports["int8"]["accuracy"],
        "int8_agreement": exports["int8"] and exports["int8"]["parity"]["argmax_agreement"],
        "int8_path": exports["int8"] and exports["int8"]["tflite_path"],
        "text_path": exports["int8_text"] and exports["int8_text"]["tflite_path"],
        "sequence_length": exports["int8"] and exports["int8"]["sequence_length"],
    }


def _teacher_record(teacher_root):
    snips = _metrics(teacher_root / "teacher_snips_minilm")
    if not snips:
        return None
    sst2 = _metrics(teacher_root / "teacher_sst2_minilm")
    mrpc = _metrics(teacher_root / "teacher_mrpc_minilm")
    exports = {m: _export(teacher_root / "teacher_snips_minilm", m) for m in ("float", "int8")}
    one = lambda v: {"mean": v, "std": None, "n": 1}  # noqa: E731
    return {
        "student": "MiniLM-L6-H384 teacher",
        "init": "teacher",
        "finetune": "labels",
        "parameters": snips["model"]["parameters"],
        "snips_intent": one(snips["eval"]["intent_accuracy"]),
        "snips_slot_f1": one(snips["eval"]["slot_f1"]),
        "snips_slot_f1_constrained": _constrained([snips]),
        "sst2": sst2 and one(sst2["eval"]["accuracy"]),
        "mrpc_accuracy": mrpc and one(mrpc["eval"]["accuracy"]),
        "mrpc_f1": mrpc and one(mrpc["eval"]["f1"]),
        "float_bytes": exports["float"] and exports["float"]["size_bytes"],
        "int8_bytes": exports["int8"] and exports["int8"]["size_bytes"],
        "int8_snips": exports["int8"] and exports["int8"]["accuracy"],
        "int8_agreement": exports["int8"] and exports["int8"]["parity"]["argmax_agreement"],
        "int8_path": exports["int8"] and exports["int8"]["tflite_path"],
        "text_path": None,
        "sequence_length": exports["int8"] and exports["int8"]["sequence_length"],
    }


def _mb(value):
    return "—" if not value else f"{value / 2**20:.2f}"


def _init_label(record):
    label = INITS.get(record["init"], record["init"])
    recipe = record.get("pretrain_recipe")
    if not recipe:
        return label
    # Steps too: twins of one size may differ only in how long they pretrained.
    return f"{label}, {recipe}, {record['pretrain']['steps']:,} steps"


def _table(records, p50s):
    lines = [
        "| model | init | fine-tuned on | params | float .tflite MB | int8 .tflite MB "
        "| int8 p50 ms (seq) | int8 strings-in p50 ms | SNIPS intent | SNIPS slot F1 "
        "| SNIPS slot F1, BIO-constrained | int8 SNIPS intent / slot F1 (/ BIO-constrained) "
        "| SST-2 dev | MRPC dev acc / F1 |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in records:
        p50, text_p50 = p50s.get(r["int8_path"]), p50s.get(r["text_path"])
        latency = "—" if p50 is None else f"{p50:.3f} ({r['sequence_length']})"
        text_latency = "—" if text_p50 is None else f"{text_p50:.3f}"
        int8 = r["int8_snips"]
        int8_scores = "—"
        if int8:
            keys = ("intent_accuracy", "slot_f1", "slot_f1_constrained")
            int8_scores = " / ".join(f"{100 * int8[k]:.1f}" for k in keys if k in int8)
        lines.append(
            f"| {r['student']} | {_init_label(r)} | {r['finetune']} "
            f"| {r['parameters'] / 1e6:.2f}M | {_mb(r['float_bytes'])} | {_mb(r['int8_bytes'])} "
            f"| {latency} | {text_latency} "
            f"| {_fmt(r['snips_intent'])} | {_fmt(r['snips_slot_f1'])} "
            f"| {_fmt(r['snips_slot_f1_constrained'])} "
            f"| {int8_scores} "
            f"| {_fmt(r['sst2'])} | {_fmt(r['mrpc_accuracy'])} / {_fmt(r['mrpc_f1'])} |"
        )
    return "\n".join(lines)


def _scale_table(root, sizes):
    """Steps, sequences, token positions and wall time of every pretraining stage."""
    lines = [
        "| student | stage | steps | sequences | token positions | wall time, last session (min) "
        "| held-out masked accuracy |",
        "|---|---|---:|---:|---:|---:|---|",
    ]
    for h in sizes:
        # Stage I and its variants first, then the students' twins side by side.
        runs = [*_pretrain_runs(root, h, ("stage1",)), *_pretrain_runs(root, h)]
        for stage, name in runs:
            metrics = _metrics(root / name)
            if not metrics:
                continue
            steps, sequences, tokens = _run_scale(root / name)
            held_out = ", ".join(
                f"{k.replace('_accuracy', ' vocab')} {100 * v:.1f}"
                for k, v in metrics["eval"].items()
                if "accuracy" in k
            )
            lines.append(
                f"| {_model_name(root / name, h)} | {_stage_label(root / name, stage)} "
                f"| {steps:,} | {sequences:,} | {tokens:,} "
                f"| {metrics['train']['wall_time_s'] / 60:.0f} | {held_out} |"
            )
    return "\n".join(lines)


def _history(path):
    with open(path) as f:
        return list(csv.DictReader(f))


def _steps(run, rows):
    """The training step at the end of each history row (sizes differ in steps per epoch)."""
    per_epoch = _config(run)["training"]["steps_per_epoch"]
    return [per_epoch * (i + 1) for i in range(len(rows))]


def plot_curves(root, sizes, png):
    """Stage I per-vocabulary loss and masked accuracy, stage II against NoKD, by step."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(15, 4.2))
    for h in sizes:
        for _, name in _pretrain_runs(root, h, ("stage1",)):
            stage1 = root / name / "history.csv"
            if not stage1.is_file():
                continue
            rows = _history(stage1)
            steps = _steps(stage1.parent, rows)
            # A variant run (`stage1_h96_frozen`) is named in the legend: "H96 frozen ...".
            variant = name.removeprefix(f"stage1_h{h}").replace("_", " ")
            for vocab, style in (("teacher", "--"), ("student", "-")):
                label = f"H{h}{variant} {vocab} vocab"
                for ax, metric in ((axes[0], "loss"), (axes[1], "accuracy")):
                    values = [float(r[f"{vocab}_{metric}"]) for r in rows]
                    ax.plot(steps, values, style, label=label)
        for init, name in _pretrain_runs(root, h):
            path = root / name / "history.csv"
            if path.is_file():
                rows = _history(path)
                steps = _steps(root / name, rows)
                axes[2].plot(
                    steps,
                    # Masked-LM alone: a distilled stage II's `loss` adds its layer loss.
                    [float(r.get("mlm_loss") or r["loss"]) for r in rows],
                    "-" if init == "stage2" else ":",
                    label=f"H{h} {INITS[init]}, {_stage_label(root / name)}, {steps[-1]:,} steps",
                )
    titles = (
        "stage I: MLM loss per vocabulary",
        "stage I: masked-token accuracy",
        "student MLM loss: stage II vs NoKD",
    )
    for ax, title in zip(axes, titles, strict=True):
        ax.set_title(title)
        ax.set_xlabel("training step")
        ax.grid(alpha=0.3)
    for ax in axes[:2]:
        ax.legend(fontsize=8)
    # Under the panel: the students' recipe labels are longer than a panel is wide.
    axes[2].legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.15))
    fig.savefig(png, dpi=110, bbox_inches="tight")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root", type=Path)
    parser.add_argument("--teacher-root", type=Path, default=Path("runs"))
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--png", type=Path, default=Path("docs/mixed_vocab_curves.png"))
    parser.add_argument("--no-latency", action="store_true")
    args = parser.parse_args(argv)
    # Sizes from the pretraining runs: a NoKD-only study (no stage I) has a size too.
    pretraining = re.compile(rf"({'|'.join(['stage1', *INITS])})_h(\d+)")
    sizes = sorted({int(m[2]) for p in args.root.iterdir() if (m := pretraining.match(p.name))})
    records = [
        r
        for h in sizes
        for finetune in FINETUNES
        for init, name in _pretrain_runs(args.root, h)
        for r in [_student_record(args.root, h, init, name, finetune)]
        if r is not None
    ]
    teacher = _teacher_record(args.teacher_root)
    if teacher:
        records.insert(0, teacher)
    paths = [
        path
        for r in records
        for path in (r["int8_path"], r["text_path"])
        if path and Path(path).is_file()
    ]
    p50s = _interleaved_p50(paths, args.runs) if paths and not args.no_latency else {}
    for r in records:
        r["int8_p50_ms"] = p50s.get(r["int8_path"])
        r["int8_text_p50_ms"] = p50s.get(r["text_path"])
    plot_curves(args.root, sizes, args.png)
    (args.root / "mixed_vocab_records.json").write_text(json.dumps(records, indent=1) + "\n")
    print(_table(records, p50s))
    print()
    print(_scale_table(args.root, sizes))
    print(f"\ncurves: {args.png}", file=sys.stderr)


if __name__ == "__main__":
    main()
