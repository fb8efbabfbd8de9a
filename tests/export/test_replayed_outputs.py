"""ReplayedOutputs: a text model's outputs scored by the task metrics, its ids checked."""

import numpy as np
import pytest

from tfcompress.export.replayed_outputs import ReplayedOutputs
from tfcompress.export.verification import ParityError


def outputs(rows=5):
    ids = np.arange(rows * 4).reshape(rows, 4)
    return {"token_ids": ids, "segment_ids": 0 * ids, "logits": np.eye(rows, 3)}


def test_batches_are_served_in_order():
    replay = ReplayedOutputs(outputs())
    first = replay({"token_ids": outputs()["token_ids"][:2]})
    second = replay({"token_ids": outputs()["token_ids"][2:]})
    np.testing.assert_array_equal(np.concatenate([first, second]), outputs()["logits"])


def test_multi_output_models_get_a_dict_without_the_ids():
    data = {**outputs(), "slot_logits": np.ones((5, 4, 2))}
    served = ReplayedOutputs(data)({"token_ids": data["token_ids"]})
    assert sorted(served) == ["logits", "slot_logits"]


def test_other_ids_raise():
    replay = ReplayedOutputs(outputs())
    wrong = outputs()["token_ids"][:2] + 1
    with pytest.raises(ParityError, match="eval rows 0-1"):
        replay({"token_ids": wrong})
