from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from tfcompress.distill import teacher_targets
from tfcompress.distill.teacher_cache import (
    TeacherCache,
    example_arrays,
    fingerprint,
    with_cached_targets,
)
from tfcompress.models import Encoder, build_intent_slot_model


def _examples(tiny_inputs, n=10):
    rng = np.random.default_rng(0)
    inputs = {k: np.repeat(v[:1], n, axis=0) for k, v in tiny_inputs.items()}
    inputs["token_ids"] = rng.integers(1, 50, inputs["token_ids"].shape).astype("int32")
    labels = {"intent_logits": np.arange(n) % 3, "slot_logits": np.zeros((n, 8), "int32")}
    return tf.data.Dataset.from_tensor_slices((inputs, labels)), inputs


def test_cache_roundtrip_and_alignment(tiny_config, tiny_inputs, tmp_path):
    teacher = build_intent_slot_model(Encoder(tiny_config), 3, 5)
    examples, inputs = _examples(tiny_inputs)
    cache = TeacherCache(tmp_path / "cache")
    key = fingerprint("data-v1", 8)
    assert not cache.matches(key)
    cache.build(teacher, examples.batch(4), key)
    assert cache.matches(key) and not cache.matches(fingerprint("data-v2", 8))
    assert cache.num_examples == 10 and not list(tmp_path.glob(".cache-*"))
    expected = teacher_targets(teacher, inputs)
    arrays = example_arrays(examples)
    batches = list(with_cached_targets(arrays, cache, batch_size=10, shuffle=True, seed=1))
    ((x, y),) = batches
    order = [
        int(np.where((inputs["token_ids"] == row).all(1))[0][0])
        for row in np.asarray(x["token_ids"])
    ]
    assert sorted(order) == list(range(10)) and order != list(range(10))  # shuffled, not lost
    np.testing.assert_allclose(
        x["teacher"]["logits"]["intent_logits"],
        np.asarray(expected["logits"]["intent_logits"])[order],
        atol=1e-5,
    )
    np.testing.assert_allclose(
        x["teacher"]["cls_hidden"], np.asarray(expected["cls_hidden"])[order], atol=1e-5
    )
    np.testing.assert_array_equal(y["intent_logits"], (np.arange(10) % 3)[order])


def _rows_of(batches):
    return [int(row[0]) for x, _ in batches for row in np.asarray(x["token_ids"])]


def test_every_example_once_per_pass_reshuffled_on_repeat(tiny_config, tiny_inputs, tmp_path):
    teacher = build_intent_slot_model(Encoder(tiny_config), 3, 5)
    _, inputs = _examples(tiny_inputs, n=7)
    inputs["token_ids"][:, 0] = np.arange(7)  # each row names itself
    labels = {"intent_logits": np.arange(7) % 3, "slot_logits": np.zeros((7, 8), "int32")}
    examples = (inputs, labels)
    cache = TeacherCache(tmp_path / "cache").build(
        teacher, tf.data.Dataset.from_tensor_slices(examples).batch(3), "k"
    )
    stream = with_cached_targets(examples, cache, batch_size=3, shuffle=True, seed=5)
    first, second = _rows_of(stream), _rows_of(stream.repeat(2))[7:]
    assert [len(x["token_ids"]) for x, _ in stream] == [3, 3, 1]
    assert sorted(first) == sorted(second) == list(range(7)) and first != second
    again = with_cached_targets(examples, cache, batch_size=3, shuffle=True, seed=5)
    assert _rows_of(again) == first  # a resumed epoch sees the same order
    # ...and the order whole examples shuffled with that seed had: runs trained before the
    # stream shuffled indices are repeated exactly.
    whole = tf.data.Dataset.from_tensor_slices(examples).shuffle(7, seed=5)
    assert [int(x["token_ids"][0]) for x, _ in whole] == first
    ((x, y),) = list(with_cached_targets(examples, cache, batch_size=7, shuffle=False, seed=0))
    np.testing.assert_array_equal(x["token_ids"][:, 0], np.arange(7))
    np.testing.assert_allclose(
        x["teacher"]["cls_hidden"], np.load(cache.directory / "cls_hidden.npy"), atol=1e-6
    )


def test_a_cache_of_other_data_is_refused(tiny_config, tiny_inputs, tmp_path):
    teacher = build_intent_slot_model(Encoder(tiny_config), 3, 5)
    examples, _ = _examples(tiny_inputs, n=4)
    cache = TeacherCache(tmp_path / "cache").build(teacher, examples.batch(4), "k")
    fewer = example_arrays(examples.take(3))
    with pytest.raises(ValueError, match="holds 4 examples, the training data 3"):
        with_cached_targets(fewer, cache, batch_size=2, shuffle=True, seed=0)


def test_word_states_are_stored_in_half_precision_and_streamed_as_float32(
    tiny_config, tiny_inputs, tmp_path
):
    teacher = build_intent_slot_model(Encoder(tiny_config), 3, 5)
    examples, inputs = _examples(tiny_inputs, n=4)
    cache = TeacherCache(tmp_path / "cache")
    cache.build(teacher, examples.batch(4), "k", word_layers=(2,))
    stored = np.load(cache.directory / "word_hidden.npy")
    assert stored.dtype == np.float16 and stored.shape == (4, 8, 1, 32)
    expected = np.asarray(teacher_targets(teacher, inputs)["cls_hidden"])[:, 2]
    np.testing.assert_allclose(stored[:, 0, 0], expected, atol=2e-3)  # [CLS] of layer 2
    x, _ = next(iter(with_cached_targets(example_arrays(examples), cache, 4, False, 0)))
    teacher_rows = x["teacher"]
    assert teacher_rows["word_hidden"].dtype == teacher_rows["logits"]["slot_logits"].dtype
    assert teacher_rows["word_hidden"].dtype == tf.float32
    np.testing.assert_array_equal(teacher_rows["word_hidden"], stored.astype(np.float32))


def test_word_logits_move_to_the_other_tokenizations_word_starts():
    from tfcompress.distill.teacher_cache import align_words

    # Teacher: [CLS] w0 w1 w2 [SEP]; student: [CLS] w0 ## w1 ## ## (cut before w2).
    teacher_starts = np.array([[0, 1, 1, 1, 0]], bool)
    student_starts = np.array([[0, 1, 0, 1, 0, 0]], bool)
    logits = np.arange(5 * 2, dtype="float32").reshape(1, 5, 2)
    aligned, mask = align_words(logits, teacher_starts, student_starts)
    np.testing.assert_array_equal(aligned[0, 1], logits[0, 1])  # w0
    np.testing.assert_array_equal(aligned[0, 3], logits[0, 2])  # w1
    np.testing.assert_array_equal(mask, [[0, 1, 0, 1, 0, 0]])
    assert not aligned[0, [0, 2, 4, 5]].any()
    # The other way round, the teacher covers fewer words than the student has.
    _, mask = align_words(logits[:, :3], teacher_starts[:, :3], np.ones((1, 4), bool))
    np.testing.assert_array_equal(mask, [[1, 1, 0, 0]])
    # Hidden states [N, S, layers, H] move the same way, whole.
    states = np.arange(5 * 2 * 3, dtype="float16").reshape(1, 5, 2, 3)
    aligned, _ = align_words(states, teacher_starts, student_starts)
    assert aligned.shape == (1, 6, 2, 3) and aligned.dtype == np.float16
    np.testing.assert_array_equal(aligned[0, 3], states[0, 2])


def test_a_batch_reads_its_own_rows_not_the_whole_cache(
    tiny_config, tiny_inputs, tmp_path, monkeypatch
):
    """What keeps memory flat: the first batch must not wait for the whole cache to be read
    into a shuffle buffer."""
    teacher = build_intent_slot_model(Encoder(tiny_config), 3, 5)
    examples, _ = _examples(tiny_inputs, n=64)
    cache = TeacherCache(tmp_path / "cache").build(teacher, examples.batch(16), "k")
    rows_read = []

    class CountingArray:
        def __init__(self, array):
            self.array, self.shape = array, array.shape

        def __getitem__(self, indices):
            rows_read.append(len(indices))
            return self.array[indices]

    stored = cache.arrays()
    monkeypatch.setattr(cache, "arrays", lambda: {f: CountingArray(a) for f, a in stored.items()})
    stream = with_cached_targets(example_arrays(examples), cache, 2, shuffle=True, seed=0)
    next(iter(stream))
    per_field = sum(rows_read) / len(stored)
    assert 2 <= per_field < 64


def _maps_of(path):
    with open("/proc/self/maps") as maps:
        return sum(str(path) in line for line in maps)


@pytest.mark.skipif(not Path("/proc/self/maps").exists(), reason="reads /proc/self/maps")
def test_epochs_share_one_map_of_the_cache(tiny_config, tiny_inputs, tmp_path):
    """Each epoch's stream used to map the cache again and keep it mapped for the run."""
    teacher = build_intent_slot_model(Encoder(tiny_config), 3, 5)
    examples, _ = _examples(tiny_inputs, n=12)
    cache = TeacherCache(tmp_path / "cache").build(teacher, examples.batch(4), "k")
    arrays = example_arrays(examples)
    streams = [with_cached_targets(arrays, cache, 4, shuffle=True, seed=e) for e in range(3)]
    for stream in streams:
        list(stream)
    assert _maps_of(cache.directory / "cls_hidden.npy") == 1
    before = cache.arrays()
    cache.build(teacher, examples.batch(4), "k2")  # new files: not the old map
    assert cache.arrays() is not before and cache.arrays() is cache.arrays()
