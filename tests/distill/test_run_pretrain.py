"""`tfcompress pretrain`: stage I, stage II and NoKD on a tiny corpus, resume, fine-tuning
from a pretrained student, and bad inputs (one line, exit 2, earlier runs untouched)."""

import csv

import keras
import numpy as np
import pytest

from tests.distill.pretrain_helpers import recipe, write_world
from tests.test_cli import _assert_one_line_error, _config_file, _digest, _run_cli
from tests.training.helpers import tiny_values
from tfcompress.distill.pretrain_run_config import pretrain_config_from_dict
from tfcompress.distill.run_pretrain import prepare_pretrain, run_pretrain
from tfcompress.tasks.pretrained_run import PretrainedRun
from tfcompress.training import finetune_config_from_dict, run_finetune


def _losses(run_dir, key="loss"):
    with open(run_dir / "history.csv") as f:
        return [float(row[key]) for row in csv.DictReader(f)]


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    root = write_world(tmp_path_factory.mktemp("mixed_vocab"))
    for stage, extra in (
        ("stage1", {}),
        ("stage2", {"stage_one": str(root / "stage1")}),
        ("nokd", {}),
    ):
        run_pretrain(
            pretrain_config_from_dict(recipe(root, stage, root / stage, **extra)), verbose=0
        )
    return root


def test_stage_one_trains_both_vocabularies(world):
    run = PretrainedRun.read(world / "stage1", stages=("stage1",))
    for key in ("loss", "teacher_loss", "student_loss"):
        losses = _losses(world / "stage1", key)
        assert losses[-1] < losses[0], (key, losses)
    assert set(run.metrics["eval"]) == {
        "loss",
        "accuracy",
        "teacher_loss",
        "teacher_accuracy",
        "student_loss",
        "student_accuracy",
    }
    assert run.metrics["vocabularies"] == {"teacher": 217, "student": 196}
    # The student table is the student's width; the teacher's stays its own.
    assert run.student_table().shape == (196, 16)
    assert run.metrics["model"]["encoder"]["hidden_size"] == 32


def test_frozen_teacher_layers_do_not_move(world, tmp_path):
    values = recipe(
        world,
        "stage1",
        tmp_path / "frozen",
        training={"epochs": 1, "steps_per_epoch": 3, "batch_size": 4},
    )
    values["teacher"]["freeze_layers"] = True
    config = pretrain_config_from_dict(values)
    before = {
        v.path: v.numpy().copy() for v in prepare_pretrain(config).model.encoder.blocks[0].weights
    }
    run_pretrain(config, verbose=0)
    after = PretrainedRun.read(tmp_path / "frozen", stages=("stage1",)).load_masked_lm()
    for variable in after.encoder.blocks[0].weights:
        np.testing.assert_array_equal(variable.numpy(), before[variable.path])
    table = after.encoder.embeddings.second_word_embeddings.numpy()
    fresh = prepare_pretrain(config, overwrite=True).model.encoder.embeddings
    fresh = fresh.second_word_embeddings.numpy()
    assert not np.allclose(table, fresh)


def test_stage_two_starts_from_the_stage_one_table_unchanged(world, tmp_path):
    config = pretrain_config_from_dict(
        recipe(world, "stage2", tmp_path / "s2", stage_one=str(world / "stage1"))
    )
    table = prepare_pretrain(config).model.encoder.embeddings.word_embeddings.numpy()
    np.testing.assert_array_equal(
        table, PretrainedRun.read(world / "stage1", stages=("stage1",)).student_table()
    )
    nokd = prepare_pretrain(pretrain_config_from_dict(recipe(world, "nokd", tmp_path / "n")))
    assert not np.allclose(nokd.model.encoder.embeddings.word_embeddings.numpy(), table)


def test_stage_two_can_start_from_the_centered_table(world, tmp_path):
    values = recipe(world, "stage2", tmp_path / "s2", stage_one=str(world / "stage1"))
    values["student"]["center_table"] = True
    table = prepare_pretrain(pretrain_config_from_dict(values)).model
    table = table.encoder.embeddings.word_embeddings.numpy()
    stage_one = PretrainedRun.read(world / "stage1", stages=("stage1",)).student_table()
    np.testing.assert_allclose(table, stage_one - stage_one.mean(axis=0), atol=1e-6)
    assert np.abs(stage_one.mean(axis=0)).max() > 1e-3  # so the subtraction is visible


@pytest.mark.parametrize("stage", ["stage2", "nokd"])
def test_student_stages_lower_their_mlm_loss(world, stage):
    losses = _losses(world / stage)
    assert losses[-1] < losses[0]
    run = PretrainedRun.read(world / stage)
    assert set(run.metrics["eval"]) == {"loss", "accuracy"}
    assert run.metrics["train"]["steps_this_session"] == 36
    assert run.metrics["model"]["encoder"]["vocab_size"] == 196


class _StopAfterFirstEpoch(keras.callbacks.Callback):
    def on_epoch_end(self, epoch, logs=None):
        raise KeyboardInterrupt


def test_a_killed_stage_resumes_where_it_stopped(world, tmp_path):
    config = pretrain_config_from_dict(recipe(world, "nokd", tmp_path / "n"))
    with pytest.raises(KeyboardInterrupt):
        run_pretrain(config, callbacks=[_StopAfterFirstEpoch()], verbose=0)
    assert not (tmp_path / "n" / "metrics.json").exists()
    iterations = []

    class _RecordStart(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            iterations.append(int(self.model.optimizer.iterations.numpy()))

    summary = run_pretrain(config, callbacks=[_RecordStart()], verbose=0)
    assert iterations == [12]  # the optimizer's state came back with the weights
    assert summary["train"]["epochs_this_session"] == 2
    assert len(_losses(tmp_path / "n")) == 3
    assert summary["train"]["steps_this_session"] == 24
    assert summary["train"]["steps"] == 36  # both sessions
    assert summary["train"]["sequences"] == 36 * config.training.batch_size


def test_finetune_starts_from_a_pretrained_student(world, tmp_path):
    values = tiny_values(tmp_path / "ft", training__epochs=1)
    values["model"] = {"checkpoint": str(world / "stage2"), "sequence_length": 24}
    summary = run_finetune(finetune_config_from_dict(values), verbose=0)
    assert summary["model"]["encoder"]["hidden_size"] == 16
    assert summary["model"]["encoder"]["vocab_size"] == 196
    # Fine-tuning changed the encoder, and it started from the pretrained weights.
    pretrained = PretrainedRun.read(world / "stage2").load_encoder()
    tuned = keras.models.load_model(tmp_path / "ft" / "model.keras", safe_mode=True).encoder
    start, end = (e.embeddings.word_embeddings.numpy() for e in (pretrained, tuned))
    assert not np.array_equal(start, end) and np.corrcoef(start.ravel(), end.ravel())[0, 1] > 0.9


def test_finetune_longer_than_pretraining_is_one_line(world, tmp_path, capsys):
    values = tiny_values(tmp_path / "ft")
    values["model"] = {"checkpoint": str(world / "stage2"), "sequence_length": 48}
    code, err = _run_cli(capsys, "finetune", "--config", _config_file(tmp_path, values))
    _assert_one_line_error(code, err, "model.sequence_length", "24")


def _bad_vocab(world, name, tokens):
    path = world / name
    path.write_text("\n".join(tokens) + "\n")
    return str(path)


@pytest.mark.parametrize(
    "change, needles",
    [
        ({"student.vocab": "no_ascii"}, ["student vocabulary lacks", "tfcompress vocab"]),
        ({"student.vocab": "no_specials"}, ["lacks the special token", "[CLS]"]),
        ({"masking.student_probability": 1.5}, ["student_probability", "[0, 1]"]),
        ({"corpus.train": "blank"}, ["no usable line"]),
        ({"corpus.train": "missing"}, ["corpus file not found"]),
        ({"teacher": None}, ["teacher: required for stage stage1"]),
        ({"training.steps_per_epoch": 0}, ["steps_per_epoch", "positive"]),
    ],
)
def test_bad_stage_one_inputs_are_one_line_and_keep_the_earlier_run(
    world, tmp_path, capsys, change, needles
):
    before = _digest(world / "stage1")
    values = recipe(world, "stage1", world / "stage1")
    ((key, value),) = change.items()
    if key == "student.vocab":
        tokens = {
            "no_ascii": ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "cat"],
            "no_specials": ["[PAD]", "[UNK]", "the", "cat"],
        }[value]
        values["student"]["vocab"] = _bad_vocab(world, f"{value}.txt", tokens)
    elif key == "corpus.train":
        values["corpus"]["train"] = (
            [_bad_vocab(world, "blank.txt", [" "])]
            if value == "blank"
            else [str(world / "nothing.txt")]
        )
    elif value is None:
        del values[key]
    else:
        section, name = key.split(".")
        values[section][name] = value
    code, err = _run_cli(
        capsys, "pretrain", "--config", _config_file(tmp_path, values), "--overwrite"
    )
    _assert_one_line_error(code, err, *needles)
    assert _digest(world / "stage1") == before


def test_stage_two_needs_a_finished_stage_one_of_its_width(world, tmp_path, capsys):
    (tmp_path / "half").mkdir()
    (tmp_path / "half" / "config.yaml").write_text("stage: stage1\nmasking: {}\n")
    values = recipe(world, "stage2", tmp_path / "s2", stage_one=str(tmp_path / "half"))
    code, err = _run_cli(capsys, "pretrain", "--config", _config_file(tmp_path, values))
    _assert_one_line_error(code, err, "stage_one:", "not a finished run")
    values = recipe(world, "stage2", tmp_path / "s2", stage_one=str(world / "nokd"))
    code, err = _run_cli(capsys, "pretrain", "--config", _config_file(tmp_path, values))
    _assert_one_line_error(code, err, "stage_one:", "nokd run", "stage1")
    values = recipe(world, "stage2", tmp_path / "s2", stage_one=str(world / "stage1"))
    values["student"]["encoder"]["hidden_size"] = 32
    code, err = _run_cli(capsys, "pretrain", "--config", _config_file(tmp_path, values))
    _assert_one_line_error(code, err, "stage_one:", "(196, 16)", "(196, 32)")
    assert not (tmp_path / "s2").exists()


def test_vocab_command_reports_size_and_overlap(world, tmp_path, capsys):
    code = _run_cli(
        capsys,
        "vocab",
        "--corpus",
        str(world / "train.txt"),
        "--size",
        "250",
        "--output",
        str(tmp_path / "v.txt"),
        "--compare",
        str(world / "teacher" / "vocab.txt"),
    )[0]
    assert code == 0
    tokens = (tmp_path / "v.txt").read_text().split("\n")[:-1]
    assert tokens[:5] == ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] and len(tokens) <= 250
    assert "cat" in tokens  # a corpus word, learned beyond the ASCII characters
    assert len(set(tokens) & set((world / "teacher" / "vocab.txt").read_text().split())) > 0


def _distil_across_vocabularies(world, finished_run, tmp_path, examples, distillation):
    """Distils the tiny teacher into the stage-II student; (summary, its teacher cache)."""
    import shutil

    from tfcompress.distill.distill_run_config import distill_config_from_dict
    from tfcompress.distill.run_distill import run_distill

    teacher = tmp_path / "teacher"
    # A copy without other tests' caches: the one cache built here is this test's own.
    shutil.copytree(finished_run[0], teacher, ignore=shutil.ignore_patterns("distill_cache"))
    values = {
        "task": "intent_slot",
        "output_dir": str(tmp_path / "kd"),
        "teacher": str(teacher),
        "data": {
            "format": "synthetic",
            "synthetic_train_examples": examples,
            "synthetic_eval_examples": 32,
        },
        "student": {"checkpoint": str(world / "stage2"), "sequence_length": 24},
        "distillation": distillation,
        "training": {"epochs": 3, "batch_size": 16, "learning_rate": 3e-3},
    }
    summary = run_distill(distill_config_from_dict(values), verbose=0)
    (cache,) = (teacher / "distill_cache").glob("*/")
    return summary, cache


def test_task_distillation_across_vocabularies(world, finished_run, tmp_path):
    summary, cache = _distil_across_vocabularies(
        world, finished_run, tmp_path, 96, {"ground_truth": 0.0, "soft_targets": 1.0}
    )
    assert summary["model"]["encoder"]["vocab_size"] == 196
    assert (tmp_path / "kd" / "vocab.txt").read_text() == (
        world / "stage2" / "vocab.txt"
    ).read_text()
    kd = _losses(tmp_path / "kd", "kd_loss")
    assert kd[-1] < kd[0]
    slots, mask = (np.load(cache / f"{n}.npy") for n in ("logits.slot_logits", "token_mask"))
    # Aligned onto the student's 24 positions, non-zero only at the word starts it covered.
    assert slots.shape[:2] == mask.shape == (96, 24)
    assert mask.sum() > 96 * 3 and not slots[mask == 0].any()


def test_word_states_distil_across_vocabularies(world, finished_run, tmp_path):
    # The hidden loss alone: whatever falls is the word-state term.
    distillation = {
        "ground_truth": 0.0,
        "soft_targets": 0.0,
        "hidden": 1.0,
        "hidden_target": "words",
        "layer_map": [[2, 2]],
    }
    _, cache = _distil_across_vocabularies(world, finished_run, tmp_path, 64, distillation)
    hidden = _losses(tmp_path / "kd", "hidden_loss")
    assert hidden[-1] < 0.8 * hidden[0], hidden
    states, mask = (np.load(cache / f"{n}.npy") for n in ("word_hidden", "token_mask"))
    # The teacher's layer-2 states, aligned onto the student's 24 positions at word starts.
    assert states.shape == (64, 24, 1, 32) and states.dtype == np.float16
    assert not states[mask == 0].any() and np.abs(states[mask == 1]).sum(-1).min() > 0


def test_cross_vocabulary_distillation_refuses_token_losses(world, finished_run, tmp_path, capsys):
    values = {
        "task": "intent_slot",
        "output_dir": str(tmp_path / "kd"),
        "teacher": str(finished_run[0]),
        "data": {"format": "synthetic"},
        "student": {"checkpoint": str(world / "stage2")},
        "distillation": {"hidden": 1.0, "hidden_target": "tokens"},
    }
    code, err = _run_cli(capsys, "distill", "--config", _config_file(tmp_path, values))
    _assert_one_line_error(code, err, "distillation.hidden", "own vocabulary")


def test_pretrain_command_prints_its_table(world, tmp_path, capsys):
    values = recipe(
        world, "nokd", tmp_path / "n", training={"epochs": 1, "steps_per_epoch": 2, "batch_size": 4}
    )
    from tfcompress.cli import main

    assert main(["pretrain", "--config", _config_file(tmp_path, values)]) == 0
    printed = capsys.readouterr().out
    assert "held-out accuracy" in printed and "sequences (this session)" in printed
    summary = PretrainedRun.read(tmp_path / "n").metrics
    assert summary["train"]["steps_this_session"] == 2
    assert summary["train"]["sequences_this_session"] == 8


def _distilled_stage_two(world, output, **distill):
    return pretrain_config_from_dict(
        recipe(
            world,
            "stage2",
            output,
            stage_one=str(world / "stage1"),
            distill={"hidden_weight": 1.0, **distill},
        )
    )


def test_stage_two_distils_from_the_stage_one_teacher(world, tmp_path):
    before = _digest(world / "stage1")
    config = _distilled_stage_two(world, tmp_path / "kd", soft_weight=0.5, temperature=2.0)
    summary = run_pretrain(config, verbose=0)
    for key in ("loss", "mlm_loss", "hidden_loss"):
        losses = _losses(tmp_path / "kd", key)
        assert losses[-1] < losses[0], (key, losses)
    assert min(_losses(tmp_path / "kd", "soft_loss")) > 0
    assert set(summary["eval"]) == {"loss", "accuracy", "mlm_loss", "hidden_loss", "soft_loss"}
    e = summary["eval"]
    total = e["mlm_loss"] + e["hidden_loss"] + 0.5 * e["soft_loss"]
    assert e["loss"] == pytest.approx(total, abs=1e-4)  # metrics.json keeps 5 decimals
    assert _digest(world / "stage1") == before
    # The saved model is the student alone: no teacher, no projection.
    saved = PretrainedRun.read(tmp_path / "kd").load_masked_lm()
    plain = PretrainedRun.read(world / "stage2").load_masked_lm()
    assert saved.count_params() == plain.count_params()


def test_stage_two_teacher_reads_the_student_batch_in_its_second_table(world, tmp_path):
    prepared = prepare_pretrain(_distilled_stage_two(world, tmp_path / "kd"))
    stage_one = PretrainedRun.read(world / "stage1", stages=("stage1",))
    teacher_vocab = (world / "stage1" / "vocab.txt").read_text().split("\n")
    student_vocab = stage_one.student_vocab()
    ids = prepared.teacher_ids
    assert ids[student_vocab.index("[CLS]")] == teacher_vocab.index("[CLS]")
    assert ids[student_vocab.index("[MASK]")] == teacher_vocab.index("[MASK]")
    assert ids[student_vocab.index("##at")] == 217 + student_vocab.index("##at")
    # The teacher's second table row for a student token is stage I's student table row.
    table = prepared.teacher.encoder.embeddings.second_word_embeddings.numpy()
    np.testing.assert_array_equal(table, stage_one.student_table())


@pytest.mark.parametrize(
    "stage, change, needles",
    [
        ("nokd", {}, ["distill: not used by stage nokd"]),
        ("stage2", {"masking": {"sequence_length": 28}}, ["sequence_length", "28", "24"]),
        ("stage2", {"distill": {"hidden_weight": -1}}, ["distill.hidden_weight", ">= 0"]),
        ("stage2", {"distill": {"hidden_weight": 0}}, ["both 0"]),
        ("stage2", {"distill": {"temperature": 0}}, ["distill.temperature", "positive"]),
    ],
)
def test_bad_stage_two_distillation_is_one_line(world, tmp_path, capsys, stage, change, needles):
    extra = {"stage_one": str(world / "stage1")} if stage == "stage2" else {}
    values = recipe(world, stage, tmp_path / "kd", distill={"hidden_weight": 1.0}, **extra)
    for section, settings in change.items():
        values[section] = {**values[section], **settings}
    code, err = _run_cli(capsys, "pretrain", "--config", _config_file(tmp_path, values))
    _assert_one_line_error(code, err, *needles)
    assert not (tmp_path / "kd").exists()


def test_check_refuses_a_student_depth_the_teacher_cannot_pair(world, tmp_path, capsys):
    values = recipe(world, "stage2", tmp_path / "kd", stage_one=str(world / "stage1"), distill={})
    values["student"]["encoder"]["num_layers"] = 3  # the stage-I teacher has 2
    code, err = _run_cli(capsys, "check", "--config", _config_file(tmp_path, values))
    _assert_one_line_error(code, err, "2 layers", "student's 3")
    assert not (tmp_path / "kd").exists()
