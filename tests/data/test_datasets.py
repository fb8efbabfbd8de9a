import pytest

from tfcompress.data.datasets import classification_dataset, intent_slot_dataset, tagging_dataset
from tfcompress.data.task_data import IntentSlotData, TextClassificationData
from tfcompress.data.wordpiece_tokenizer import WordPieceTokenizer
from tfcompress.errors import DataError

# ids:     0        1        2        3        4      5      6      7      8      9      10
VOCAB = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "the", "cat", "sat", "##s", "on", "mat", "dog"]


@pytest.fixture(scope="module")
def tok():
    return WordPieceTokenizer(VOCAB, sequence_length=8)


def single_data():
    return TextClassificationData(
        ["the cat", "the dog", "cats sat", "the mat", "dog"], None, [0, 1, 0, 1, 1], ["0", "1"]
    )


def test_classification_single_keeps_last_partial_batch(tok):
    batches = list(classification_dataset(single_data(), tok, batch_size=2))
    assert [len(y) for _, y in batches] == [2, 2, 1]
    inputs, labels = batches[0]
    assert set(inputs) == {"token_ids", "segment_ids", "padding_mask"}
    assert inputs["token_ids"].numpy().tolist() == [
        [2, 4, 5, 3, 0, 0, 0, 0],
        [2, 4, 10, 3, 0, 0, 0, 0],
    ]
    assert labels.dtype.name == "int32" and labels.numpy().tolist() == [0, 1]


def test_classification_pairs(tok):
    data = TextClassificationData(["the cat"], ["on the mat"], [1], ["0", "1"])
    inputs, labels = next(iter(classification_dataset(data, tok, batch_size=4)))
    assert inputs["token_ids"].numpy().tolist() == [[2, 4, 5, 3, 8, 4, 9, 3]]
    assert inputs["segment_ids"].numpy().tolist() == [[0, 0, 0, 0, 1, 1, 1, 1]]


def test_classification_shuffle_is_seeded_permutation(tok):
    def rows(shuffle, seed=0):
        ds = classification_dataset(single_data(), tok, batch_size=5, shuffle=shuffle, seed=seed)
        inputs, labels = next(iter(ds))
        return list(zip(inputs["token_ids"].numpy()[:, 1:3].tolist(), labels.numpy().tolist()))

    assert rows(True, seed=3) == rows(True, seed=3)
    assert sorted(rows(True, seed=3)) == sorted(rows(False))  # same examples, labels still attached
    assert rows(True, seed=3) != rows(False)  # and really reordered (fixed seed: not by chance)


def tagged_data():
    return IntentSlotData(
        words=[["the", "cats", "sat"], ["dog", "on", "mat"]],
        tags=[["O", "B-animal", "O"], ["B-animal", "O", "B-place"]],
        intents=["describe", "locate"],
    )


def test_intent_slot_dataset(tok):
    data = tagged_data()
    tags = data.tag_names()  # O, B-animal, B-place
    inputs, targets = next(
        iter(intent_slot_dataset(data, tok, ["describe", "locate"], tags, batch_size=4))
    )
    assert inputs["token_ids"].numpy().tolist() == [
        [2, 4, 5, 7, 6, 3, 0, 0],
        [2, 10, 8, 9, 3, 0, 0, 0],
    ]
    assert targets["intent_logits"].numpy().tolist() == [0, 1]
    assert targets["slot_logits"].numpy().tolist() == [
        [-1, 0, 1, -1, 0, -1, -1, -1],
        [-1, 1, 0, 2, -1, -1, -1, -1],
    ]


def test_tagging_dataset_yields_token_labels_only(tok):
    data = tagged_data()
    ds = tagging_dataset(data, tok, data.tag_names(), batch_size=1)
    assert len(list(ds)) == 2
    _, labels = next(iter(ds))
    assert labels.numpy().tolist() == [[-1, 0, 1, -1, 0, -1, -1, -1]]


def test_unknown_names_raise(tok):
    data = tagged_data()
    with pytest.raises(DataError, match=r"unknown intent\(s\) \['locate'\]"):
        intent_slot_dataset(data, tok, ["describe"], data.tag_names(), batch_size=2)
    with pytest.raises(DataError, match=r"unknown slot tag\(s\) \['B-place'\]"):
        tagging_dataset(data, tok, ["O", "B-animal"], batch_size=2)
