"""The main job: teacher → distilled SPS student → TFLite (float and int8, parity-checked and
timed on this host), on the embedded synthetic intent + slot data."""

import copy
import json
import os
from pathlib import Path

import yaml

from tfcompress.export.length_buckets import DEFAULT_BUCKETS
from tfcompress.run_directory import RunDirectory
from tfcompress.training import finetune_config_from_dict, run_finetune

# Stage 1: a 4-layer, 128-wide teacher trained from scratch on our synthetic SNIPS-style
# data with a WordPiece vocabulary learned from it. Stage 2: a student with 2 parameter
# blocks run as 4 layers (SPS step 2: the top two reuse the bottom two with query and key
# swapped), initialized from the teacher's first 2 blocks and distilled with soft targets,
# PKD [CLS] losses and ground truth from cached teacher outputs. A few minutes on 2 cores.
TEACHER_CONFIG = {
    "task": "intent_slot",
    "seed": 0,
    "data": {
        "format": "synthetic",
        "synthetic_train_examples": 3000,
        "synthetic_eval_examples": 500,
    },
    "model": {
        "learn_vocab_size": 600,
        "sequence_length": 32,
        "encoder": {"hidden_size": 128, "num_layers": 4, "num_heads": 4, "intermediate_size": 512},
    },
    "training": {"epochs": 4, "batch_size": 32, "learning_rate": 1e-3, "warmup_ratio": 0.1},
}

STUDENT_CONFIG = {
    "task": "intent_slot",
    "seed": 0,
    "data": TEACHER_CONFIG["data"],
    "student": {"num_layers": 2, "init": "teacher", "sps_step": 2},
    "distillation": {
        "ground_truth": 0.5,
        "soft_targets": 0.5,
        "temperature": 2.0,
        "hidden": 10.0,
        "layer_map": "skip",
    },
    "training": {"epochs": 3, "batch_size": 32, "learning_rate": 5e-4, "warmup_ratio": 0.1},
}


def _config_values(template, quick):
    values = copy.deepcopy(template)
    if quick:
        values["data"] = {
            **values["data"],
            "synthetic_train_examples": 400,
            "synthetic_eval_examples": 100,
        }
        values["training"]["epochs"] = 2
    return values


def _reusable(run, config):
    """A finished run of exactly this config is reused instead of trained again."""
    if not run.is_finished or not run.config_path.is_file():
        return False
    return yaml.safe_load(run.config_path.read_text()) == json.loads(json.dumps(config.to_dict()))


def _run_stage(run_fn, config, overwrite, may_reuse):
    """A finished run of this exact config is reused; a stale finished one is replaced
    (the demo owns its directories); an interrupted one resumes."""
    run = RunDirectory(config.output_dir)
    if may_reuse and not overwrite and _reusable(run, config):
        return json.loads(run.metrics_path.read_text()), True
    return run_fn(config, overwrite=overwrite or run.is_finished), False


def run_demo(output_dir="runs/demo", quick=False, overwrite=False, announce=None, on_stage=None):
    """Returns (teacher summary, student summary); the student's has an `export` section.
    `announce(line)` hears each stage as it starts and whether a finished run was reused;
    `on_stage(text)` each step of the exports (see `export_run`)."""
    announce = announce or (lambda line: None)
    from tfcompress.distill.distill_run_config import distill_config_from_dict
    from tfcompress.distill.run_distill import run_distill

    output_dir = Path(output_dir)
    teacher_values = {
        **_config_values(TEACHER_CONFIG, quick),
        "output_dir": str(output_dir / "teacher"),
    }
    teacher_config = finetune_config_from_dict(teacher_values, base_dir=os.getcwd())
    announce(f"[1/3] teacher: fine-tune a 4-layer encoder → {teacher_config.output_dir}")
    teacher, teacher_reused = _run_stage(run_finetune, teacher_config, overwrite, may_reuse=True)
    _say_if_reused(announce, teacher_reused, teacher)
    student_values = {
        **_config_values(STUDENT_CONFIG, quick),
        "output_dir": str(output_dir / "student"),
        "teacher": teacher_config.output_dir,
    }
    student_config = distill_config_from_dict(student_values, base_dir=os.getcwd())
    announce(f"[2/3] SPS student: distil the teacher → {student_config.output_dir}")
    # A retrained teacher makes any earlier student stale.
    student, student_reused = _run_stage(
        run_distill, student_config, overwrite, may_reuse=teacher_reused
    )
    _say_if_reused(announce, student_reused, student)
    announce(
        "[3/3] student → float and int8 TFLite (and int8 strings-in with length buckets): "
        "export, parity check, latency on the eval sentences (1 thread)"
    )
    student["export"] = export_and_time(student_config.output_dir, quick, on_stage)
    return teacher, student


def _say_if_reused(announce, reused, summary):
    if reused:
        announce(
            f"      reused the finished run there (same config, trained in "
            f"{summary['train']['wall_time_s']:.0f} s); --overwrite trains it again"
        )


EXPORTS = {
    "float": {"mode": "float"},
    "int8": {"mode": "int8"},
    "int8 text, buckets": {"mode": "int8", "strings_in": True, "buckets": DEFAULT_BUCKETS},
}


def export_and_time(run_dir, quick, on_stage=None):
    """{name: export report} for the run's float and int8 exports and its int8 strings-in
    export with length buckets, each timed (1 thread) on the run's eval sentences
    (`sentence_latency`) and on synthetic ids or a sample sentence (`latency`); the
    timings are in the reports, so `tfcompress report` shows them."""
    from tfcompress.export.run_export import export_run

    return {
        name: export_run(
            run_dir,
            representative_examples=128 if quick else 512,
            verify_examples=0,
            timing=True,
            on_stage=on_stage,
            **options,
        )
        for name, options in EXPORTS.items()
    }
