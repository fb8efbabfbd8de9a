import numpy as np
import pytest

from tfcompress.data import IntentSlotData, WordPieceTokenizer, intent_slot_dataset
from tfcompress.data.slot_phrase_fill import SlotPhraseFill, corpus_names
from tfcompress.data.task_data import UNLABELED_TAG
from tfcompress.errors import ConfigError, DataError
from tfcompress.tasks.data_config import DataConfig
from tfcompress.tasks.task_runtime import read_task_data

PROSE = [
    "The river runs through Port Moresby and past Lake Placid. Rivers flood.",
    "In 1980 the Royal Geographical Society Fellows met in Port Moresby, and New York City sent"
    " ships.",
    "Lake Placid hosted New York City guests; Boston did not.",
]


def test_corpus_names_are_runs_of_capitalised_words_not_at_a_sentence_start():
    names = corpus_names(PROSE, max_words=3, min_count=1)
    assert ("port", "moresby") in names and ("lake", "placid") in names
    assert ("new", "york", "city") in names and ("boston",) in names
    # Runs that open a sentence are skipped whole: "The", "Rivers", "In", "Lake Placid".
    assert ("the",) not in names and ("rivers",) not in names and ("in",) not in names
    assert ("placid",) not in names
    # Four capitalised words are more than max_words.
    assert not any(name[0] == "royal" for name in names)
    assert ("royal", "geographical", "society", "fellows") in corpus_names(PROSE, 4, 1)
    assert names == sorted(names)


def test_min_count_keeps_names_seen_that_often():
    assert corpus_names(PROSE, min_count=2) == [("new", "york", "city"), ("port", "moresby")]


def _utterances():
    return IntentSlotData(
        words=[["fly", "to", "paris", "tomorrow"], ["what", "time", "is", "it"]],
        tags=[["O", "O", "B-city", "B-date"], ["O", "O", "O", "O"]],
        intents=["BookFlight", "GetTime"],
    )


def _fill(tmp_path, **options):
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("\n".join(PROSE * 2) + "\n")
    return SlotPhraseFill(corpus=[str(corpus)], **options)


def test_filled_values_are_corpus_names_tagged_unlabelled(tmp_path):
    fill = _fill(tmp_path, copies=20, probability=1.0)
    data = _utterances()
    copies = fill.copies_of(data, seed=0)
    names = set(corpus_names(PROSE * 2))
    assert len(copies) == 40 and copies.intents == data.intents * 20
    for words, tags in zip(copies.words[::2], copies.tags[::2], strict=True):
        assert words[:2] == ["fly", "to"] and tags[:2] == ["O", "O"]
        filled = words[2:]
        assert tags[2:] == [UNLABELED_TAG] * len(filled)
        # Two names back to back: split them where the tags cannot, by trying each cut.
        assert any(
            tuple(filled[:cut]) in names and tuple(filled[cut:]) in names
            for cut in range(1, len(filled))
        )
    assert copies.words[1::2] == [data.words[1]] * 20, "no slot, nothing to fill"
    assert copies == fill.copies_of(data, seed=0)
    assert copies.words != fill.copies_of(data, seed=1).words


def test_probability_leaves_some_values_with_their_gold_tags(tmp_path):
    copies = _fill(tmp_path, copies=50, probability=0.5).copies_of(_utterances(), seed=0)
    kept = sum(tags[2] == "B-city" for tags in copies.tags[::2])
    assert 10 < kept < 40


def test_only_the_named_slots_are_filled(tmp_path):
    copies = _fill(tmp_path, copies=10, probability=1.0, slots=["city"]).copies_of(
        _utterances(), seed=0
    )
    for words, tags in zip(copies.words[::2], copies.tags[::2], strict=True):
        assert words[-1] == "tomorrow" and tags[-1] == "B-date"
        assert tags[2] == UNLABELED_TAG
    with pytest.raises(ConfigError, match=r"phrase_fill.slots: \['town'\] not slots.*'city'"):
        _fill(tmp_path, slots=["town"]).copies_of(_utterances(), seed=0)


def test_unlabelled_words_start_a_word_with_label_minus_two(tmp_path):
    data = IntentSlotData(
        words=[["fly", "to", "port", "moresby"]],
        tags=[["O", "O", UNLABELED_TAG, UNLABELED_TAG]],
        intents=["BookFlight"],
    )
    assert data.tag_names() == ["O"]
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "fly", "to", "port", "mor", "##esby"]
    tokenizer = WordPieceTokenizer(vocab, sequence_length=8)
    (_, labels), = intent_slot_dataset(data, tokenizer, ["BookFlight"], ["O"], batch_size=1)
    # [CLS] fly to port mor ##esby [SEP] [PAD]
    assert labels["slot_logits"].numpy().tolist() == [[-1, 0, 0, -2, -2, -1, -1, -1]]


def test_read_task_data_adds_filled_copies_after_the_swapped_ones(tmp_path):
    config = DataConfig(
        format="synthetic",
        synthetic_train_examples=20,
        synthetic_eval_examples=10,
        phrase_fill=_fill(tmp_path, copies=2, probability=1.0),
    )
    train, evaluation = read_task_data(config, seed=0)
    plain, _ = read_task_data(DataConfig(**{**vars(config), "phrase_fill": None}), 0)
    assert len(train) == 60 and train.words[:20] == plain.words
    assert any(UNLABELED_TAG in tags for tags in train.tags[20:])
    assert not any(UNLABELED_TAG in tags for tags in evaluation.tags)


@pytest.mark.parametrize(
    "options, needle",
    [
        ({"corpus": None}, "corpus"),
        ({"corpus": "wiki.txt"}, "corpus"),
        ({"copies": 0}, "copies"),
        ({"max_words": 0}, "max_words"),
        ({"probability": 0.0}, "probability"),
        ({"slots": []}, "slots"),
        ({"slots": "city"}, "slots"),
    ],
)
def test_bad_options_name_the_key(options, needle):
    with pytest.raises(ConfigError, match=f"phrase_fill.{needle}"):
        SlotPhraseFill(**{"corpus": ["wiki.txt"], **options})


def test_a_corpus_without_names_is_a_data_error(tmp_path):
    corpus = tmp_path / "lower.txt"
    corpus.write_text("all lower case words here\n")
    with pytest.raises(DataError, match="no name of at most 3 words"):
        SlotPhraseFill(corpus=[str(corpus)]).copies_of(_utterances(), seed=0)
