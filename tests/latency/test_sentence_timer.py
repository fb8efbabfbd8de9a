"""SentenceTimer: per-sentence times of a strings-in (or ids-in) .tflite on real inputs."""

import time

import numpy as np
import pytest

from tests.export.test_length_buckets import BUCKETS
from tests.export.test_text_model import SEQ, VOCAB, tiny_config
from tfcompress.data.wordpiece_tokenizer import WordPieceTokenizer
from tfcompress.export.text_model import convert_text_model
from tfcompress.latency.sentence_timer import SentenceTimer, id_feeds, text_feeds, time_sentences
from tfcompress.models import Encoder, build_classifier

TEXTS = ["the cat", "the cat sat on the mat playing", "", "dog " * 40]


@pytest.fixture(scope="module")
def text_model():
    tokenizer = WordPieceTokenizer(VOCAB, sequence_length=SEQ)
    model = build_classifier(Encoder(tiny_config()), 3, sequence_length=SEQ)
    return convert_text_model(model, tokenizer, "float", buckets=BUCKETS)


def test_each_sentence_gets_one_time_per_round(text_model):
    timer = SentenceTimer(text_model, text_feeds(TEXTS))
    assert timer.size_bytes == len(text_model)
    for _ in range(3):
        timer.round()
    ms = timer.sentence_ms()
    assert ms.shape == (len(TEXTS),) and np.all(ms > 0)
    summary = timer.summary()
    assert summary["sentences"] == len(TEXTS) and summary["rounds"] == 3
    assert summary["p50_ms"] <= summary["p90_ms"] <= summary["p99_ms"] <= ms.max()


def test_the_untimed_warm_up_is_not_counted(text_model):
    timer = SentenceTimer(text_model, text_feeds(TEXTS[:2]))
    assert timer.rounds == 0
    with pytest.raises(ValueError, match="no round timed yet"):
        timer.summary()
    assert time_sentences(text_model, text_feeds(TEXTS[:2]), rounds=2)["rounds"] == 2


def test_pair_feeds_name_both_inputs():
    feeds = text_feeds(["a", "b"], ["c", "d"])
    assert [sorted(feed) for feed in feeds] == [["text", "text_pair"]] * 2
    assert feeds[1]["text_pair"].tolist() == [b"d"]


def test_id_feeds_are_the_tokenizers_batch_one_ids():
    tokenizer = WordPieceTokenizer(VOCAB, sequence_length=SEQ)
    feeds = id_feeds(tokenizer, ["the cat", "dog"], ["sat", "mat"])
    want = tokenizer(["dog"], ["mat"])
    assert sorted(feeds[1]) == sorted(want)
    for name, value in want.items():
        np.testing.assert_array_equal(feeds[1][name], value)
        assert feeds[1][name].shape == (1, SEQ)


def test_front_time_covers_the_split_tokenizer_and_not_the_encoder():
    tokenizer = WordPieceTokenizer(VOCAB, sequence_length=SEQ)
    model = build_classifier(Encoder(tiny_config()), 3, sequence_length=SEQ)
    split = SentenceTimer(
        convert_text_model(model, tokenizer, "float", split=True), text_feeds(TEXTS)
    )
    joined = SentenceTimer(convert_text_model(model, tokenizer, "float"), text_feeds(TEXTS))
    for timer in (split, joined):
        for _ in range(5):
            timer.round()
        front, total = timer.sentence_ms(front=True), timer.sentence_ms()
        assert np.all(front > 0) and np.all(front < total)
    # The split model's front runs `tokenize` and copies its ids; the joined one only sets the
    # strings, its tokenizer runs inside the one invoke.
    assert np.median(split.sentence_ms(front=True)) > 2 * np.median(joined.sentence_ms(front=True))


def test_before_each_runs_before_every_sentence_and_is_not_timed(text_model):
    calls = []

    def slow_setup():
        calls.append(1)
        time.sleep(0.05)

    timer = SentenceTimer(text_model, text_feeds(TEXTS))
    timer.round(before_each=slow_setup)
    assert len(calls) == len(TEXTS)
    assert np.all(timer.sentence_ms() < 50)
