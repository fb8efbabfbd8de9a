"""The stage-II distiller's id mapping and layer pairing (its training is tested with
`tfcompress pretrain` in test_run_pretrain.py)."""

import numpy as np
import pytest

from tfcompress.distill.stage_two_distiller import layer_pairs, teacher_token_ids
from tfcompress.errors import ConfigError


def test_framing_tokens_map_to_the_teacher_table_and_the_rest_to_the_second():
    teacher = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "cat"]
    student = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "c", "##at", "the"]
    ids = teacher_token_ids(student, teacher)
    np.testing.assert_array_equal(ids, [0, 7 + 1, 2, 3, 4, 7 + 5, 7 + 6, 7 + 7])
    assert ids.dtype == np.int32


def test_student_framing_order_need_not_match_the_teacher():
    teacher = ["[CLS]", "[SEP]", "[PAD]", "[MASK]", "[UNK]"]
    student = ["[PAD]", "[MASK]", "[SEP]", "[CLS]", "a"]
    np.testing.assert_array_equal(teacher_token_ids(student, teacher), [2, 3, 1, 0, 5 + 4])


def test_layer_pairs_take_the_same_relative_depth():
    assert layer_pairs(6, 6) == [(i, i) for i in range(7)]
    assert layer_pairs(2, 6) == [(0, 0), (1, 3), (2, 6)]
    with pytest.raises(ConfigError, match="multiple of the student's 4"):
        layer_pairs(4, 6)
