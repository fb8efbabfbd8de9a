"""The two-softmax MLM loss (Zhao et al. eq. 1) and the pretrainer around it."""

import keras
import numpy as np

from tests.conftest import tiny_encoder_config
from tfcompress.distill.losses import split_vocabulary_nll
from tfcompress.distill.masked_lm_pretrainer import MaskedLMPretrainer
from tfcompress.models import Encoder, MaskedLMModel


def _log_softmax(x):
    x = x - x.max(-1, keepdims=True)
    return x - np.log(np.exp(x).sum(-1, keepdims=True))


def test_each_label_is_scored_by_its_own_vocabularys_softmax():
    # Two vocabularies of 3 and 2 tokens; combined ids 0-2 and 3-4.
    logits = np.array([[[2.0, 0.0, 1.0, 5.0, 4.0], [0.0, 0.0, 0.0, 1.0, 3.0]]], "float32")
    labels = np.array([[2, 4]], "int32")
    nll, correct = split_vocabulary_nll(logits, labels, first_vocab_size=3)
    expected = [-_log_softmax(logits[0, 0, :3])[2], -_log_softmax(logits[0, 1, 3:])[1]]
    np.testing.assert_allclose(np.asarray(nll)[0], expected, rtol=1e-6)
    # Position 0: the overall argmax is a second-vocabulary token, but within the first
    # vocabulary it is id 0, not the label 2. Position 1: id 4 wins within the second.
    np.testing.assert_array_equal(np.asarray(correct), [[0.0, 1.0]])
    # The other vocabulary's logits do not move the loss.
    shifted = logits.copy()
    shifted[0, 0, 3:] += 100.0
    np.testing.assert_allclose(split_vocabulary_nll(shifted, labels, 3)[0][0, 0], expected[0])


def test_one_vocabulary_is_plain_cross_entropy():
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(2, 3, 7)).astype("float32")
    labels = rng.integers(0, 7, (2, 3)).astype("int32")
    nll, _ = split_vocabulary_nll(logits, labels, first_vocab_size=0)
    reference = -np.take_along_axis(_log_softmax(logits), labels[..., None], -1)[..., 0]
    np.testing.assert_allclose(np.asarray(nll), reference, rtol=1e-5)


def _mixed_batch(config, rng, batch=4, masked=3):
    ids = rng.integers(4, config.total_vocab_size, (batch, config.max_length)).astype("int32")
    inputs = {
        "token_ids": ids,
        "segment_ids": np.zeros_like(ids),
        "padding_mask": np.ones_like(ids),
        "mask_positions": np.tile(np.arange(1, masked + 1, dtype="int32"), (batch, 1)),
    }
    targets = {
        "mask_labels": ids[:, 1 : masked + 1].copy(),
        "mask_weights": np.ones((batch, masked), "float32"),
    }
    return inputs, targets


def test_per_vocabulary_metrics_average_their_own_tokens():
    config = tiny_encoder_config(second_vocab_size=30, second_embedding_dim=8)
    pretrainer = MaskedLMPretrainer(MaskedLMModel(Encoder(config)))
    inputs, targets = _mixed_batch(config, np.random.default_rng(0))
    terms = pretrainer.compute_terms(inputs, targets, training=False)
    in_second = targets["mask_labels"] >= config.vocab_size
    assert 0 < in_second.mean() < 1
    logits = np.asarray(pretrainer(inputs))
    nll = np.asarray(split_vocabulary_nll(logits, targets["mask_labels"], config.vocab_size)[0])
    np.testing.assert_allclose(float(terms["student_loss"]), nll[in_second].mean(), rtol=1e-5)
    np.testing.assert_allclose(float(terms["teacher_loss"]), nll[~in_second].mean(), rtol=1e-5)
    np.testing.assert_allclose(float(terms["loss"]), nll.mean(), rtol=1e-5)


def test_fit_lowers_the_loss_on_a_fixed_batch():
    keras.utils.set_random_seed(0)
    config = tiny_encoder_config(second_vocab_size=30, second_embedding_dim=8)
    pretrainer = MaskedLMPretrainer(MaskedLMModel(Encoder(config)))
    pretrainer.compile(keras.optimizers.Adam(3e-3))
    inputs, targets = _mixed_batch(config, np.random.default_rng(1))
    history = pretrainer.fit(inputs, targets, epochs=30, batch_size=4, verbose=0).history
    assert history["loss"][-1] < 0.5 * history["loss"][0]
    assert set(history) >= {"teacher_loss", "student_loss", "teacher_accuracy", "student_accuracy"}
