import math

import numpy as np
import pytest

from tfcompress.distill import losses


def test_ground_truth_cross_entropy_ignores_minus_one():
    logits = np.array([[[2.0, 0.0], [0.0, 0.0], [5.0, -5.0]]], "float32")
    labels = np.array([[0, -1, 1]])
    expected = (math.log(1 + math.exp(-2)) + math.log(1 + math.exp(10))) / 2
    assert float(losses.ground_truth_cross_entropy(labels, logits)) == pytest.approx(expected, 1e-5)


def test_soft_target_kl_by_hand():
    s = np.array([[1.0, 0.0]], "float32")
    t = np.array([[0.0, 2.0]], "float32")
    temperature = 2.0
    p = np.exp(t / 2) / np.exp(t / 2).sum()
    q = np.exp(s / 2) / np.exp(s / 2).sum()
    expected = float((p * np.log(p / q)).sum()) * 4
    assert float(losses.soft_target_kl(s, t, temperature)) == pytest.approx(expected, 1e-5)
    assert float(losses.soft_target_kl(t, t, 3.0)) == pytest.approx(0.0, abs=1e-6)


def test_soft_target_kl_masks_tokens():
    s = np.zeros((1, 2, 3), "float32")
    t = np.array([[[0, 0, 0], [9, 0, 0]]], "float32")
    masked = losses.soft_target_kl(s, t, 1.0, mask=np.array([[1, 0]]))
    assert float(masked) == pytest.approx(0.0, abs=1e-6)
    assert float(losses.soft_target_kl(s, t, 1.0)) > 0.1


def test_normalized_cls_mse_by_hand():
    s = np.array([[3.0, 4.0]], "float32")  # normalizes to (0.6, 0.8)
    t = np.array([[0.0, 2.0]], "float32")  # normalizes to (0, 1)
    assert float(losses.normalized_mse(s, t)) == pytest.approx(0.36 + 0.04, 1e-6)
    assert float(losses.normalized_mse(s, 10 * s)) == pytest.approx(0.0, abs=1e-6)


def test_normalized_mse_over_masked_positions_by_hand():
    s = np.array([[[3.0, 4.0], [1.0, 0.0], [5.0, 5.0]]], "float32")
    t = np.array([[[0.0, 2.0], [0.0, 1.0], [1.0, 1.0]]], "float32")
    # Positions 0 and 1 count: 0.40 and ‖(1, 0) − (0, 1)‖² = 2; position 2 is masked out.
    mask = np.array([[1.0, 1.0, 0.0]], "float32")
    assert float(losses.normalized_mse(s, t, mask)) == pytest.approx((0.40 + 2.0) / 2, 1e-6)


def test_hidden_and_attention_mse_by_hand():
    a = np.zeros((1, 2, 2), "float32")
    b = np.array([[[1.0, 1.0], [3.0, 3.0]]], "float32")
    assert float(losses.hidden_state_mse(a, b)) == pytest.approx((1 + 9) / 2)
    assert float(losses.hidden_state_mse(a, b, mask=np.array([[1, 0]]))) == pytest.approx(1.0)
    sa = np.zeros((1, 1, 2, 2), "float32")
    ta = np.array([[[[1.0, 0.0], [0.5, 0.5]]]], "float32")
    assert float(losses.attention_mse(sa, ta)) == pytest.approx((0.5 + 0.25) / 2)
    assert float(losses.attention_mse(sa, ta, mask=np.array([[1, 0]]))) == pytest.approx(0.5)


def test_ground_truth_cross_entropy_ignores_unlabelled_words():
    # -2 marks a word start without a gold tag (data.phrase_fill): not counted either.
    logits = np.array([[[2.0, 0.0], [0.0, 9.0], [5.0, -5.0]]], "float32")
    labels = np.array([[0, -2, 1]])
    expected = (math.log(1 + math.exp(-2)) + math.log(1 + math.exp(10))) / 2
    assert float(losses.ground_truth_cross_entropy(labels, logits)) == pytest.approx(expected, 1e-5)
