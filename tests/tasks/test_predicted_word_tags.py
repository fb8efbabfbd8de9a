import pytest

from tfcompress.data import slot_f1, slot_f1_by_type
from tfcompress.tasks import FinishedRun


def test_predicted_word_tags_are_what_evaluate_scores(finished_run):
    run = FinishedRun.read(finished_run[0])
    runtime = run.task_runtime()
    model = run.load_model()
    tags = runtime.predicted_word_tags(model)
    assert [len(t) for t in tags] == [len(w) for w in runtime.eval.words]
    f1 = slot_f1(runtime.eval.tags, tags)
    assert f1 == pytest.approx(runtime.evaluate(model)["slot_f1"])
    # The per-type breakdown covers every span of the eval split.
    by_type = slot_f1_by_type(runtime.eval.tags, tags)
    spans = sum(tag.startswith("B-") for row in runtime.eval.tags for tag in row)
    assert sum(s["support"] for s in by_type.values()) == spans


def test_constrained_word_tags_are_well_formed_and_what_evaluate_scores(finished_run):
    run = FinishedRun.read(finished_run[0])
    runtime = run.task_runtime()
    model = run.load_model()
    tags = runtime.predicted_word_tags(model, constrained=True)
    assert slot_f1(runtime.eval.tags, tags) == pytest.approx(
        runtime.evaluate(model)["slot_f1_constrained"]
    )
    for row in tags:
        for previous, tag in zip(["O", *row], row):
            if tag.startswith("I-"):
                assert previous in ("B-" + tag[2:], tag), row


def test_a_classification_run_has_no_word_tags(finished_classification_run):
    run = FinishedRun.read(finished_classification_run[0])
    with pytest.raises(ValueError, match="no word tags"):
        run.task_runtime().predicted_word_tags(run.load_model())


def test_predictions_are_what_evaluate_scores(finished_run):
    run = FinishedRun.read(finished_run[0])
    runtime = run.task_runtime()
    model = run.load_model()
    outputs, labels = runtime.predictions(model)
    assert len(outputs["intent_logits"]) == len(runtime.eval.words)
    right = outputs["intent_logits"].argmax(-1) == labels["intent_logits"]
    assert right.mean() == pytest.approx(runtime.evaluate(model)["intent_accuracy"])
