import numpy as np
import tensorflow as tf

from tfcompress.distill import teacher_targets
from tfcompress.distill.teacher_cache import TeacherCache, fingerprint, with_cached_targets
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
    batches = list(with_cached_targets(examples, cache, batch_size=10, shuffle=True, seed=1))
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


def test_small_chunks_stream_every_example(tiny_config, tiny_inputs, tmp_path):
    teacher = build_intent_slot_model(Encoder(tiny_config), 3, 5)
    examples, _ = _examples(tiny_inputs, n=7)
    cache = TeacherCache(tmp_path / "cache").build(teacher, examples.batch(3), "k")
    rows = list(cache.dataset(chunk_size=2))
    assert len(rows) == 7 and rows[0]["cls_hidden"].shape == (3, 32)


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
    row = next(iter(cache.dataset()))
    assert row["word_hidden"].dtype == row["logits"]["slot_logits"].dtype == tf.float32


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
