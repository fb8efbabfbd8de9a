import dataclasses

import numpy as np
import pytest

from tfcompress.errors import ConfigError
from tfcompress.models import Encoder
from tfcompress.models.sps import sps_config, sps_layer_plan
from tfcompress.models.student_init import init_from_teacher


def test_plans_of_the_paper():
    assert sps_layer_plan(3, 1) == [(0, 0), (1, 0), (2, 0), (0, 0), (1, 0), (2, 0)]
    assert sps_layer_plan(3, 2) == [(0, 0), (1, 0), (2, 0), (0, 1), (1, 1), (2, 1)]
    six = sps_layer_plan(6, 2, reuse_top=3)
    assert len(six) == 9 and six[6:] == [(3, True), (4, True), (5, True)]
    with pytest.raises(ConfigError, match="step"):
        sps_layer_plan(3, 3)


@pytest.mark.parametrize("step, reuse_top, depth", [(1, None, 4), (2, None, 4), (2, 1, 3)])
def test_sps_student_keeps_parameter_count(tiny_config, tiny_inputs, step, reuse_top, depth):
    base = Encoder(tiny_config)
    shared = Encoder(sps_config(tiny_config, step, reuse_top))
    base.build()
    shared.build()
    assert shared.count_params() == base.count_params()
    assert len(shared(tiny_inputs)["attention_probs"]) == depth
    top = shared.executed_blocks[-1].attention
    original = shared.blocks[-1].attention
    if step == 2:
        assert top.query_dense.kernel is original.key_dense.kernel
    else:
        assert top.query_dense.kernel is original.query_dense.kernel


def test_init_from_teacher_copies_first_blocks(tiny_config, tiny_inputs):
    teacher = Encoder(dataclasses.replace(tiny_config, num_layers=4))
    student = Encoder(sps_config(tiny_config, 2))
    init_from_teacher(student, teacher)
    for i in range(2):
        for s, t in zip(student.blocks[i].weights, teacher.blocks[i].weights, strict=True):
            np.testing.assert_array_equal(s.numpy(), t.numpy())
    truncated = Encoder(tiny_config)
    init_from_teacher(truncated, teacher)
    out_t = teacher(tiny_inputs)["hidden_states"][2]
    np.testing.assert_allclose(truncated(tiny_inputs)["hidden_states"][2], out_t, atol=1e-5)
    with pytest.raises(ConfigError, match="position_embeddings from the teacher: shape"):
        init_from_teacher(Encoder(dataclasses.replace(tiny_config, hidden_size=16)), teacher)
