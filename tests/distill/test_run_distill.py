import json
import shutil

import keras
import numpy as np
import pytest

from tests.training.helpers import SENTIMENT_ROWS
from tfcompress.distill.distill_run_config import distill_config_from_dict
from tfcompress.distill.ptp import ptp_labels
from tfcompress.distill.run_distill import run_distill
from tfcompress.errors import ConfigError


def _values(teacher_dir, output_dir, **sections):
    values = {
        "task": "intent_slot",
        "output_dir": str(output_dir),
        "teacher": str(teacher_dir),
        "data": {
            "format": "synthetic",
            "synthetic_train_examples": 96,
            "synthetic_eval_examples": 32,
        },
        "student": {"num_layers": 1, "sps_step": 2},
        "distillation": {"hidden": 1.0, "layer_map": [[1, 1]]},
        "training": {"epochs": 2, "batch_size": 16, "learning_rate": 3e-3},
    }
    values.update(sections)
    return values


def test_sps_student_distilled_from_teacher_run(finished_run, tmp_path):
    teacher_dir, teacher_summary = finished_run
    summary = run_distill(distill_config_from_dict(_values(teacher_dir, tmp_path / "s")), verbose=0)
    assert summary["model"]["executed_layers"] == 2
    assert summary["teacher"]["eval"] == teacher_summary["eval"]
    assert summary["train"]["teacher_cache_s"] is not None
    assert len(list((teacher_dir / "distill_cache").glob("*/meta.json"))) == 1
    student = keras.models.load_model(tmp_path / "s" / "model.keras", safe_mode=True)
    encoder = student.encoder
    assert encoder.config.layer_plan == [(0, False), (0, True)]
    # SPS keeps the parameter count of the 1-block student.
    unshared = run_distill(
        distill_config_from_dict(
            _values(
                teacher_dir,
                tmp_path / "plain",
                student={"num_layers": 1},
                training={"epochs": 1, "batch_size": 16},
            )
        ),
        verbose=0,
    )
    assert unshared["model"]["parameters"] == summary["model"]["parameters"]


def _ptp_values(classification_run, output_dir, **sections):
    """A PTP-then-KD recipe on the SST-2-like teacher run."""
    teacher_dir, _, train = classification_run
    return _values(
        teacher_dir,
        output_dir,
        task="classification",
        data={"format": "glue", "glue_task": "sst2", "train": str(train), "eval": str(train)},
        student={"num_layers": 1},
        ptp={"variant": "ptp", "threshold": 0.6, "epochs": 1},
        **sections,
    )


def test_ptp_then_kd_on_classification(finished_classification_run, tmp_path):
    teacher_dir = finished_classification_run[0]
    values = _ptp_values(
        finished_classification_run,
        tmp_path / "ptp",
        distillation={"hidden": 1.0, "layer_map": [[1, 2]], "temperature": 2.0},
    )
    summary = run_distill(distill_config_from_dict(values), verbose=0)
    (cache,) = (teacher_dir / "distill_cache").glob("*")
    teacher_logits = np.load(cache / "logits.npy")
    gold = np.array([label for _, label in SENTIMENT_ROWS])
    expected = np.bincount(ptp_labels(teacher_logits, gold, 0.6, "ptp"), minlength=4)
    assert summary["train"]["ptp"]["label_counts"] == expected.tolist()
    assert json.loads((tmp_path / "ptp" / "ptp.json").read_text()) == summary["train"]["ptp"]
    student = keras.models.load_model(tmp_path / "ptp" / "model.keras", safe_mode=True)
    assert student.get_layer("classification_head").dense.kernel.shape[-1] == 2  # task head back


@pytest.mark.parametrize(
    "sections, message",
    [
        (
            {"student": {"num_layers": 1, "encoder": {"hidden_size": 16, "num_heads": 2}}},
            "cannot initialize",
        ),
        (
            {"distillation": {"hidden": 1.0, "layer_map": [[1, 9]]}},
            "teacher layer 9 does not exist",
        ),
        (
            {
                "task": "classification",
                "data": {"format": "glue", "glue_task": "sst2", "train": "x", "eval": "x"},
            },
            "trained for task",
        ),
    ],
)
def test_mismatches_rejected_before_anything_is_written(finished_run, tmp_path, sections, message):
    teacher_dir, _ = finished_run
    config = distill_config_from_dict(_values(teacher_dir, tmp_path / "bad", **sections))
    with pytest.raises(ConfigError, match=message):
        run_distill(config, verbose=0)
    assert not (tmp_path / "bad").exists()


def test_slot_swap_copies_train_with_the_teachers_outputs_on_them(finished_run, tmp_path):
    # A private copy of the teacher, so its cache directory holds this run's cache alone.
    teacher_dir = shutil.copytree(finished_run[0], tmp_path / "teacher")
    shutil.rmtree(teacher_dir / "distill_cache", ignore_errors=True)
    values = _values(teacher_dir, tmp_path / "s", training={"epochs": 1, "batch_size": 16})
    values["data"]["slot_swap"] = {"copies": 2}
    summary = run_distill(distill_config_from_dict(values), verbose=0)
    assert summary["train"]["examples"] == 3 * 96
    (cache,) = (teacher_dir / "distill_cache").glob("*")
    assert json.loads((cache / "meta.json").read_text())["num_examples"] == 3 * 96
    # The copies' targets are the teacher's outputs on swapped utterances, not the originals'.
    logits = np.load(cache / "logits.intent_logits.npy")
    assert not np.allclose(logits[96:192], logits[:96])


def test_phrase_fill_copies_train_on_the_teachers_labels_alone(finished_run, tmp_path):
    teacher_dir = shutil.copytree(finished_run[0], tmp_path / "teacher")
    shutil.rmtree(teacher_dir / "distill_cache", ignore_errors=True)
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("We flew from Lake Placid to Port Moresby. Then Lake Placid again.\n" * 3)
    values = _values(teacher_dir, tmp_path / "s", training={"epochs": 1, "batch_size": 16})
    values["data"]["phrase_fill"] = {"corpus": [str(corpus)], "copies": 1, "probability": 1.0}
    summary = run_distill(distill_config_from_dict(values), verbose=0)
    assert summary["train"]["examples"] == 2 * 96
    (cache,) = (teacher_dir / "distill_cache").glob("*")
    assert json.loads((cache / "meta.json").read_text())["num_examples"] == 2 * 96
    assert np.isfinite(summary["train"]["final_loss"])



def test_ptp_is_refused_on_two_workers_before_anything_is_written(
    finished_classification_run, tmp_path, monkeypatch
):
    # Keras 3.15 cannot `fit` PTP's plain model on 2+ workers (tensorflow#72388). A real
    # two-worker cluster runs in test_strategies.py; this checks the refusal, which
    # test_ptp_then_kd_on_classification shows one worker does not meet.
    monkeypatch.setattr("tfcompress.distill.run_distill.worker_count", lambda strategy: 2)
    values = _ptp_values(finished_classification_run, tmp_path / "ptp")
    with pytest.raises(ConfigError, match="does not run on more than one worker"):
        run_distill(distill_config_from_dict(values), verbose=0)
    assert not (tmp_path / "ptp").exists()
