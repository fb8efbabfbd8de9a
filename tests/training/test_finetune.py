import csv
import json

import keras
import numpy as np
import pytest

from tests.training.helpers import SENTIMENT_ROWS, tiny_config, write_sst2_like
from tfcompress.tasks import FinishedRun, TaskRuntime
from tfcompress.training import run_finetune
from tfcompress.training.epoch_backup import EpochBackup


def test_finished_run_has_every_artifact(finished_run):
    out, summary = finished_run
    for name in (
        "config.yaml",
        "metrics.json",
        "model.keras",
        "history.csv",
        "vocab.txt",
        "labels.json",
        "tokenizer.json",
        "checkpoints/last.keras",
    ):
        assert (out / name).is_file(), name
    assert not (out / "backup").exists()
    assert json.loads((out / "metrics.json").read_text()) == json.loads(json.dumps(summary))
    assert set(summary["eval"]) == {
        "intent_accuracy",
        "slot_f1",
        "slot_f1_constrained",
        "sentence_accuracy",
    }
    assert summary["train"]["examples"] == 96 and summary["eval_examples"] == 32
    losses = [float(r["loss"]) for r in csv.DictReader((out / "history.csv").open())]
    assert len(losses) == 2 and losses[1] < losses[0]


def test_saved_model_reproduces_reported_metrics(finished_run):
    out, summary = finished_run
    config = tiny_config(out)
    model = keras.models.load_model(out / "model.keras", safe_mode=True)
    metrics = TaskRuntime.from_recipe(config).evaluate(model)
    assert metrics == pytest.approx(summary["eval"])


def test_finished_run_reads_back_as_it_was_trained(finished_run):
    out, summary = finished_run
    run = FinishedRun.read(out)
    recipe = TaskRuntime.from_recipe(tiny_config(out))
    assert run.tokenizer.vocab == recipe.tokenizer.vocab
    assert run.tokenizer.sequence_length == recipe.tokenizer.sequence_length
    assert run.labels == recipe.labels and run.metrics == json.loads(json.dumps(summary))
    runtime = run.task_runtime()
    assert (runtime.batch_size, runtime.eval_batch_size) == (
        recipe.batch_size,
        recipe.eval_batch_size,
    )
    assert runtime.evaluate(run.load_model()) == pytest.approx(summary["eval"])


def test_classification_from_glue_tsv_learns(tmp_path):
    train = write_sst2_like(tmp_path / "train.tsv", SENTIMENT_ROWS)
    config = tiny_config(
        tmp_path / "run",
        task="classification",
        data={"format": "glue", "glue_task": "sst2", "train": str(train), "eval": str(train)},
        training__epochs=20,
        training__batch_size=8,
    )
    summary = run_finetune(config, verbose=0)
    assert summary["eval"]["accuracy"] == 1.0


class _StopAfterFirstEpoch(keras.callbacks.Callback):
    def on_epoch_end(self, epoch, logs=None):
        raise KeyboardInterrupt


def test_killed_run_resumes_from_last_epoch(tmp_path):
    config = tiny_config(tmp_path / "run", training__epochs=3)
    with pytest.raises(KeyboardInterrupt):
        run_finetune(config, callbacks=[_StopAfterFirstEpoch()], verbose=0)
    assert (tmp_path / "run" / "backup").is_dir()
    assert not (tmp_path / "run" / "metrics.json").exists()
    steps = []

    class _RecordStartStep(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            steps.append(int(self.model.optimizer.iterations.numpy()))

    summary = run_finetune(config, callbacks=[_RecordStartStep()], verbose=0)
    assert steps == [6]  # 96 examples / batch 16: the optimizer state came back with the weights
    assert summary["train"]["epochs_this_session"] == 2
    assert _history_epochs(tmp_path / "run") == [0, 1, 2]


def _history_epochs(run):
    return [int(r["epoch"]) for r in csv.DictReader((run / "history.csv").open())]


def _killed_at(config, monkeypatch, epoch, after_backup):
    """Runs `config` until a KeyboardInterrupt at the end of `epoch`, just after or just
    before the epoch backup is written."""
    write_backup = EpochBackup.on_epoch_end

    def killed(self, at, logs=None):
        if after_backup:
            write_backup(self, at, logs)
        if at == epoch:
            raise KeyboardInterrupt
        if not after_backup:
            write_backup(self, at, logs)

    with monkeypatch.context() as patch:
        patch.setattr(EpochBackup, "on_epoch_end", killed)
        with pytest.raises(KeyboardInterrupt):
            run_finetune(config, verbose=0)


@pytest.mark.parametrize("after_backup", [True, False])
def test_a_kill_beside_the_epoch_backup_keeps_each_history_row_once(
    tmp_path, monkeypatch, after_backup
):
    """The backup and the history row are two writes: a kill between them must neither lose
    the row (backup already says the epoch is done) nor repeat it (the epoch runs again)."""
    config = tiny_config(tmp_path / "run", training__epochs=3)
    _killed_at(config, monkeypatch, epoch=1, after_backup=after_backup)
    run_finetune(config, verbose=0)
    assert _history_epochs(tmp_path / "run") == [0, 1, 2]


def test_a_run_killed_after_its_last_backup_reports_the_loss_it_trained_to(tmp_path, monkeypatch):
    reference = run_finetune(tiny_config(tmp_path / "reference", training__epochs=3), verbose=0)
    config = tiny_config(tmp_path / "run", training__epochs=3)
    _killed_at(config, monkeypatch, epoch=2, after_backup=True)
    resumed = run_finetune(config, verbose=0)  # trains no epoch: the backup holds all three
    assert resumed["train"]["epochs_this_session"] == 0
    assert resumed["eval"] == reference["eval"]
    assert resumed["train"]["final_loss"] == reference["train"]["final_loss"]


def test_sps_student_from_scratch_trains(tmp_path):
    config = tiny_config(
        tmp_path / "run",
        training__epochs=1,
        model__encoder={
            "hidden_size": 32,
            "num_layers": 2,
            "num_heads": 2,
            "intermediate_size": 64,
            "layer_plan": [[0, False], [1, False], [0, True], [1, True]],
        },
    )
    summary = run_finetune(config, verbose=0)
    assert summary["model"]["encoder"]["layer_plan"] == [
        [0, False],
        [1, False],
        [0, True],
        [1, True],
    ]
    assert np.isfinite(summary["train"]["final_loss"])
