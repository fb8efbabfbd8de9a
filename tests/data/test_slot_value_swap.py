import pytest

from tfcompress.data import IntentSlotData
from tfcompress.data.slot_value_swap import SlotValueSwap, slot_values
from tfcompress.errors import ConfigError
from tfcompress.tasks.data_config import DataConfig
from tfcompress.tasks.task_runtime import read_task_data


def _utterances():
    return IntentSlotData(
        words=[
            ["play", "adele", "on", "spotify"],
            ["play", "the", "beatles", "on", "deezer"],
            ["play", "queen"],
            ["what", "time", "is", "it"],
        ],
        tags=[
            ["O", "B-artist", "O", "B-service"],
            ["O", "B-artist", "I-artist", "O", "B-service"],
            ["O", "B-artist"],
            ["O", "O", "O", "O"],
        ],
        intents=["PlayMusic", "PlayMusic", "PlayMusic", "GetTime"],
    )


def _values_in(words, tags):
    """(slot, value) pairs as CoNLL reads them: a B- tag opens a value, I- extends it."""
    found = []
    for word, tag in zip(words, tags, strict=True):
        if tag.startswith("B-"):
            found.append((tag[2:], [word]))
        elif tag.startswith("I-"):
            assert found and found[-1][0] == tag[2:], f"I- tag without its B-: {tags}"
            found[-1][1].append(word)
    return [(slot, tuple(value)) for slot, value in found]


def test_slot_values_are_the_distinct_spans_of_each_slot():
    values = slot_values(_utterances())
    assert values == {
        "artist": [("adele",), ("queen",), ("the", "beatles")],
        "service": [("deezer",), ("spotify",)],
    }


def test_an_i_tag_after_another_slot_opens_a_value_as_conll_reads_it():
    data = IntentSlotData([["a", "b", "c"]], [["B-x", "I-y", "I-y"]], ["i"])
    assert slot_values(data) == {"x": [("a",)], "y": [("b", "c")]}


def test_copies_follow_the_originals_with_swapped_values_and_exact_tags():
    data = _utterances()
    augmented = SlotValueSwap(copies=3).apply(data, seed=0)
    n = len(data)
    assert len(augmented) == 4 * n
    assert augmented.words[:n] == data.words and augmented.tags[:n] == data.tags
    assert augmented.intents == data.intents * 4
    inventory = slot_values(data)
    swapped = 0
    for i in range(n, 4 * n):
        original = i % n
        words, tags = augmented.words[i], augmented.tags[i]
        assert len(words) == len(tags)
        values = _values_in(words, tags)
        before = _values_in(data.words[original], data.tags[original])
        # Same slots in the same order, each value one seen for that slot in training.
        assert [slot for slot, _ in values] == [slot for slot, _ in before]
        assert all(value in inventory[slot] for slot, value in values)
        # The words outside slot values are the original's.
        assert [w for w, t in zip(words, tags) if t == "O"] == [
            w for w, t in zip(data.words[original], data.tags[original]) if t == "O"
        ]
        swapped += words != data.words[original]
    assert swapped >= 3, "with probability 1 most copies should differ from their original"
    assert augmented.words[n + 3] == data.words[3], "an utterance without slots is repeated"


def test_swaps_are_reproducible_from_the_seed():
    data = _utterances()
    swap = SlotValueSwap(copies=4)
    assert swap.apply(data, seed=1) == swap.apply(data, seed=1)
    assert swap.apply(data, seed=1).words != swap.apply(data, seed=2).words


def test_probability_sets_how_many_values_are_swapped():
    artists = [(f"artist{i}",) for i in range(50)]
    data = IntentSlotData(
        words=[["play", a[0]] for a in artists],
        tags=[["O", "B-artist"]] * 50,
        intents=["PlayMusic"] * 50,
    )

    def changed(probability):
        out = SlotValueSwap(copies=4, probability=probability).apply(data, seed=0)
        return sum(w != data.words[i % 50] for i, w in enumerate(out.words[50:]))

    # 200 values; a swap picks the same value 1 time in 50.
    assert 0 < changed(0.1) < 40
    assert changed(1.0) > 180


@pytest.mark.parametrize(
    "options, needle",
    [
        ({"copies": 0}, "copies"),
        ({"copies": 1.5}, "copies"),
        ({"probability": 0.0}, "probability"),
        ({"probability": 1.2}, "probability"),
    ],
)
def test_bad_options_name_the_key(options, needle):
    with pytest.raises(ConfigError, match=f"slot_swap.{needle}"):
        SlotValueSwap(**options)


def test_read_task_data_augments_train_only():
    config = DataConfig(
        format="synthetic",
        synthetic_train_examples=40,
        synthetic_eval_examples=10,
        train_subset=20,
        slot_swap=SlotValueSwap(copies=2),
    )
    train, evaluation = read_task_data(config, seed=0)
    plain_train, plain_eval = read_task_data(DataConfig(**{**vars(config), "slot_swap": None}), 0)
    assert len(train) == 60 and train.words[:20] == plain_train.words
    assert evaluation == plain_eval
