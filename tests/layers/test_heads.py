import numpy as np
import pytest

from tests.layers.helpers import assert_config_roundtrip, assert_saved_model_identical, wrap
from tfcompress.layers import (
    ClassificationHead,
    JointIntentSlotHead,
    MaskedLMHead,
    TokenTaggingHead,
)

RNG = np.random.default_rng(2)
POOLED = RNG.normal(size=(2, 8)).astype("float32")
SEQUENCE = RNG.normal(size=(2, 5, 8)).astype("float32")


@pytest.mark.parametrize(
    "head, x, shape",
    [
        (ClassificationHead(3), POOLED, (2, 3)),
        (TokenTaggingHead(7), SEQUENCE, (2, 5, 7)),
    ],
)
def test_single_heads(head, x, shape, tmp_path):
    assert head(x).shape == shape
    np.testing.assert_allclose(
        head(x).numpy(), x @ head.dense.kernel.numpy() + head.dense.bias.numpy(), atol=1e-5
    )
    assert_config_roundtrip(head)
    assert_saved_model_identical(wrap(head, x.shape[1:]), x, tmp_path)


def test_joint_head_outputs_intent_and_slots(tmp_path):
    head = JointIntentSlotHead(4, 9)
    intent, slots = head(POOLED, SEQUENCE)
    assert intent.shape == (2, 4) and slots.shape == (2, 5, 9)
    assert_config_roundtrip(head)
    assert_saved_model_identical(wrap(head, (8,), (5, 8)), [POOLED, SEQUENCE], tmp_path)


def test_masked_lm_head_gathers_positions_and_ties_decoder():
    head = MaskedLMHead(vocab_size=11, embedding_dim=4, layer_norm_epsilon=1e-6)
    table = RNG.normal(size=(11, 4)).astype("float32")
    positions = np.array([[1, 3], [0, 0]], "int32")
    logits = head(SEQUENCE, positions, table).numpy()
    assert logits.shape == (2, 2, 11)
    gathered = SEQUENCE[[[0, 0], [1, 1]], positions]
    t = gathered @ head.transform.kernel.numpy() + head.transform.bias.numpy()
    from scipy.special import erf

    t = 0.5 * t * (1 + erf(t / np.sqrt(2)))
    t = (t - t.mean(-1, keepdims=True)) / np.sqrt(t.var(-1, keepdims=True) + 1e-6)
    np.testing.assert_allclose(logits, t @ table.T, atol=1e-4)
    assert_config_roundtrip(head)
