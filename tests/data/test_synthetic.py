import re

from tfcompress.data.snips import read_intent_slot_dir
from tfcompress.data.synthetic import generate_intent_slot_data, write_intent_slot_dir


def test_deterministic_per_seed_and_seeds_differ():
    a, b = generate_intent_slot_data(50, seed=7), generate_intent_slot_data(50, seed=7)
    assert (a.words, a.tags, a.intents) == (b.words, b.tags, b.intents)
    assert generate_intent_slot_data(50, seed=8).words != a.words


def test_tags_aligned_and_valid_iob():
    data = generate_intent_slot_data(300, seed=0)
    assert len(data) == 300
    for words, tags in zip(data.words, data.tags):
        assert len(words) == len(tags) and words
        assert all(w == w.lower() for w in words)
        for prev, tag in zip(["O"] + tags, tags):
            assert re.fullmatch(r"O|[BI]-\w+", tag)
            if tag.startswith("I-"):
                assert prev[2:] == tag[2:], (words, tags)
    assert data.intent_names() == [
        "book_table",
        "get_weather",
        "play_music",
        "send_message",
        "set_alarm",
    ]
    assert any(t.startswith("I-") for row in data.tags for t in row)  # multi-word slot values


def test_not_trivial_words_shared_across_tags_and_intents():
    data = generate_intent_slot_data(1000, seed=0)
    tags_of, intents_of = {}, {}
    for words, tags, intent in zip(data.words, data.tags, data.intents):
        for w, t in zip(words, tags):
            tags_of.setdefault(w, set()).add(t[2:] if t != "O" else "O")
            intents_of.setdefault(w, set()).add(intent)
    assert {"artist", "contact"} <= tags_of["anna"]  # same value, different slot types
    assert len(intents_of["please"]) == 5  # filler words carry no intent signal


def test_write_then_read_roundtrip(tmp_path):
    data = generate_intent_slot_data(20, seed=3)
    write_intent_slot_dir(data, tmp_path / "synth")
    back = read_intent_slot_dir(tmp_path / "synth")
    assert (back.words, back.tags, back.intents) == (data.words, data.tags, data.intents)
    assert sorted(p.name for p in (tmp_path / "synth").iterdir()) == ["label", "seq.in", "seq.out"]
