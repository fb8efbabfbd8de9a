import pytest

from tfcompress.data.metrics import accuracy, classification_metrics, f1, matthews_corrcoef, slot_f1

Y_TRUE = [1, 0, 1, 1, 0]
Y_PRED = [1, 0, 0, 1, 1]  # TP=2 TN=1 FP=1 FN=1


def test_accuracy_f1_mcc_hand_computed():
    assert accuracy(Y_TRUE, Y_PRED) == pytest.approx(3 / 5)
    assert f1(Y_TRUE, Y_PRED) == pytest.approx(2 / 3)
    # (TP*TN - FP*FN) / sqrt((TP+FP)(TP+FN)(TN+FP)(TN+FN)) = (2 - 1) / sqrt(3*3*2*2)
    assert matthews_corrcoef(Y_TRUE, Y_PRED) == pytest.approx(1 / 6)


def test_f1_positive_class_is_one():
    assert f1([0, 0, 1], [0, 0, 0]) == 0.0
    assert f1([1, 1, 0], [1, 1, 1]) == pytest.approx(0.8)


def test_slot_f1_partial_span_counts_as_wrong():
    true = [["B-city", "I-city", "O", "B-date"]]
    pred = [["B-city", "O", "O", "B-date"]]  # city span cut short: 1 of 2 spans right each way
    assert slot_f1(true, pred) == pytest.approx(0.5)
    assert slot_f1(true, true) == 1.0


def test_classification_metrics_returns_python_floats():
    out = classification_metrics(("accuracy", "f1"), Y_TRUE, Y_PRED)
    assert out == pytest.approx({"accuracy": 0.6, "f1": 2 / 3})
    assert all(type(v) is float for v in out.values())
    assert type(slot_f1([["B-x"]], [["B-x"]])) is float
    with pytest.raises(ValueError, match="bleu"):
        classification_metrics(("bleu",), Y_TRUE, Y_PRED)


def test_slot_f1_by_type_breaks_the_micro_f1_down():
    from tfcompress.data import slot_f1_by_type

    true = [["B-city", "I-city", "O", "B-date"], ["B-city", "O"]]
    pred = [["B-city", "I-city", "O", "B-city"], ["B-city", "O"]]
    scores = slot_f1_by_type(true, pred)
    assert set(scores) == {"city", "date"}
    # city: 2 true spans found, 3 predicted; date: its one span missed.
    assert scores["city"]["recall"] == 1.0 and scores["city"]["precision"] == pytest.approx(2 / 3)
    assert scores["city"]["support"] == 2 and scores["date"] == {
        "f1": 0.0,
        "precision": 0.0,
        "recall": 0.0,
        "support": 1,
    }
