import json

import numpy as np
import pytest

from tests.tasks.helpers import write_splits_with_unseen_labels
from tests.training.helpers import tiny_config, write_sst2_like
from tfcompress.data import slot_f1
from tfcompress.errors import DataError
from tfcompress.export.run_export import export_run
from tfcompress.tasks import TaskRuntime
from tfcompress.tasks.unseen_labels import find_unseen_labels
from tfcompress.training import run_finetune


def _intent_slot_config(tmp_path, policy="error", **changes):
    train, evaluation = write_splits_with_unseen_labels(tmp_path / "data")
    data = {"format": "intent_slot", "train": str(train), "eval": str(evaluation)}
    return tiny_config(
        tmp_path / "run", data={**data, "unseen_labels": policy}, training__epochs=1, **changes
    )


class _Oracle:
    """Predicts the dataset's own labels, batch by batch: perfect on every label it knows."""

    def __init__(self, dataset, sizes):
        self.batches = iter([labels for _, labels in dataset])
        self.sizes = sizes

    def __call__(self, inputs, training=False):
        labels = next(self.batches)
        return {
            name: np.eye(self.sizes[name])[np.maximum(np.asarray(value), 0)]
            for name, value in labels.items()
        }


def test_eval_labels_the_train_split_never_saw_stop_before_any_model(tmp_path):
    config = _intent_slot_config(tmp_path)
    with pytest.raises(DataError) as error:
        run_finetune(config, verbose=0)
    message = str(error.value)
    assert message.startswith(f"data.eval ({config.data.eval}): 2 of 32 examples")
    assert "#" in message and "'B-unseen_slot'" in message
    assert "data.unseen_labels: count_as_wrong" in message
    assert not (tmp_path / "run").exists()  # stopped before the run directory was touched


def test_count_as_wrong_scores_unseen_intents_and_tags_as_errors(tmp_path):
    # Long enough that no word is cut off: the oracle is then perfect on known labels.
    config = _intent_slot_config(tmp_path, "count_as_wrong", model__sequence_length=64)
    runtime = TaskRuntime.from_recipe(config)
    assert runtime.unseen.examples == 2
    sizes = {"intent_logits": len(runtime.labels["intents"]), "slot_logits": 0}
    sizes["slot_logits"] = len(runtime.labels["tags"])
    metrics = runtime.evaluate(_Oracle(runtime.eval_dataset(), sizes))
    assert metrics["intent_accuracy"] == pytest.approx(31 / 32)  # the '#' intent is never right
    gold = runtime.eval.tags
    best_possible = [["O" if t == "B-unseen_slot" else t for t in row] for row in gold]
    assert metrics["slot_f1"] == pytest.approx(slot_f1(gold, best_possible))
    assert metrics["slot_f1"] < 1.0  # the unseen tag is a missed entity
    assert metrics["sentence_accuracy"] == pytest.approx(30 / 32)


def test_count_as_wrong_run_and_its_export_record_the_affected_examples(tmp_path):
    run_finetune(_intent_slot_config(tmp_path, "count_as_wrong"), verbose=0)
    record = json.loads((tmp_path / "run" / "metrics.json").read_text())["eval_unseen_labels"]
    assert record["policy"] == "count_as_wrong" and record["examples"] == 2
    assert record["tags"] == ["B-unseen_slot"] and len(record["intents"]) == 1
    # Export verification reads the same eval split through the same runtime.
    report = export_run(tmp_path / "run", "float", verify_examples=0)
    assert report["accuracy_unseen_labels"] == record
    assert report["accuracy"]["intent_accuracy"] <= 31 / 32


def test_training_examples_outside_the_teachers_labels_are_always_an_error(tmp_path):
    runtime = TaskRuntime.from_recipe(_intent_slot_config(tmp_path, "count_as_wrong"))
    teacher_labels = {**runtime.labels, "intents": runtime.labels["intents"][1:]}
    dropped = runtime.labels["intents"][0]
    unseen = find_unseen_labels("train", "train/", runtime.train, teacher_labels)
    assert unseen.labels["intents"] == [dropped] and unseen.labels["tags"] == []
    assert unseen.examples == runtime.train.intents.count(dropped)
    with pytest.raises(DataError, match=r"^data\.train \(.*\): \d+ of 96 examples"):
        TaskRuntime.from_recipe(
            _intent_slot_config(tmp_path / "again", "count_as_wrong"), labels=teacher_labels
        )


def _sst2_config(tmp_path, policy):
    train = write_sst2_like(tmp_path / "train.tsv", [("good", 1), ("bad", 0)] * 8)
    evaluation = write_sst2_like(tmp_path / "dev.tsv", [("good", 1), ("meh", 2), ("bad", 0)])
    data = {"format": "glue", "glue_task": "sst2", "train": str(train), "eval": str(evaluation)}
    return tiny_config(
        tmp_path / "run", task="classification", data={**data, "unseen_labels": policy}
    )


def test_classification_label_outside_the_task_names_split_file_and_label(tmp_path):
    config = _sst2_config(tmp_path, "error")
    with pytest.raises(DataError, match=r"data\.eval \(.*dev\.tsv\): 1 of 3 examples .*'2'"):
        TaskRuntime.from_recipe(config)


def test_classification_count_as_wrong_never_scores_the_unknown_label_right(tmp_path):
    runtime = TaskRuntime.from_recipe(_sst2_config(tmp_path, "count_as_wrong"))
    assert runtime.eval.labels.tolist() == [1, -1, 0]
    labels = np.concatenate([y for _, y in runtime.eval_dataset()])

    def oracle(inputs, training=False):
        return np.eye(2)[np.maximum(labels, 0)]

    assert runtime.evaluate(oracle)["accuracy"] == pytest.approx(2 / 3)


def test_a_tagging_task_checks_tags_only(tmp_path):
    config = _intent_slot_config(tmp_path, "error", task="tagging")
    with pytest.raises(DataError) as error:  # the unseen tag still stops it ...
        TaskRuntime.from_recipe(config)
    assert "'B-unseen_slot'" in str(error.value) and "#" not in str(
        error.value
    )  # ... not the intent
