import numpy as np

from tfcompress.data.task_data import IntentSlotData, TextClassificationData


def test_intent_slot_names_and_subset():
    data = IntentSlotData(
        words=[["a"], ["b", "c"], ["d"], ["e"]],
        tags=[["B-z"], ["B-a", "I-a"], ["O"], ["B-z"]],
        intents=["y", "x", "y", "w"],
    )
    assert data.intent_names() == ["w", "x", "y"]
    assert data.tag_names() == ["O", "B-a", "B-z", "I-a"]
    assert IntentSlotData([["a"]], [["B-q"]], ["i"]).tag_names() == ["O", "B-q"]
    sub = data.subset(2, seed=1)
    assert len(sub) == 2 and sub.words == data.subset(2, seed=1).words
    assert all(w in data.words for w in sub.words)
    assert len(data.subset(10)) == 4


def test_text_classification_subset_keeps_alignment():
    data = TextClassificationData(
        [f"t{i}" for i in range(20)],
        [f"u{i}" for i in range(20)],
        np.arange(20) % 3,
        ["a", "b", "c"],
    )
    sub = data.subset(5, seed=0)
    assert len(sub) == 5 and sub.labels.dtype == np.int64
    for a, b, y in zip(sub.texts_a, sub.texts_b, sub.labels):
        i = int(a[1:])
        assert b == f"u{i}" and y == i % 3
    assert sub.texts_a != data.subset(5, seed=1).texts_a
