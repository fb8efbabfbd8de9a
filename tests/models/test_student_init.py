"""`init_from_teacher` matches variables by name: extra student variables keep their init."""

import dataclasses

import keras
import numpy as np
import pytest

from tfcompress.errors import ConfigError
from tfcompress.layers import Quantizer
from tfcompress.models import Encoder
from tfcompress.models.student_init import encoder_variables, init_from_teacher


@keras.saving.register_keras_serializable(package="tfcompress_tests")
class ScaledQuantizer(Quantizer):
    """A quantizer that owns a variable, as a learned step size does."""

    def build(self, shape, name, layer):
        return {"scale": layer.add_weight(name=f"{name}_scale", shape=(), initializer="ones")}

    def __call__(self, x, training, weights):
        return x * weights["scale"]


def _assert_copied(student, teacher, names):
    s, t = encoder_variables(student), encoder_variables(teacher)
    for name in names:
        np.testing.assert_array_equal(s[name].numpy(), t[name].numpy(), err_msg=name)


def test_student_with_quantizer_variables_takes_every_teacher_weight(tiny_config, tiny_inputs):
    teacher = Encoder(tiny_config)
    student = Encoder(tiny_config, weight_quantizer=ScaledQuantizer())
    report = init_from_teacher(student, teacher)
    assert report["kept"] and all(name.endswith("_scale") for name in report["kept"])
    assert set(report["copied"]) == set(encoder_variables(teacher))
    _assert_copied(student, teacher, report["copied"])
    # Scales of 1 make the quantized student compute exactly what the teacher does.
    np.testing.assert_allclose(
        student(tiny_inputs)["sequence_output"], teacher(tiny_inputs)["sequence_output"], atol=1e-6
    )


def test_narrow_embedding_student_keeps_its_table_and_projection(tiny_config):
    teacher = Encoder(tiny_config)
    student = Encoder(dataclasses.replace(tiny_config, embedding_dim=16))
    report = init_from_teacher(student, teacher)
    assert sorted(report["kept"]) == [
        "embeddings/embedding_projection/bias",
        "embeddings/embedding_projection/kernel",
        "embeddings/word_embeddings",
    ]
    assert "embeddings/position_embeddings" in report["copied"]
    _assert_copied(student, teacher, report["copied"])


def test_teacher_blocks_are_chosen_by_index(tiny_config):
    teacher = Encoder(dataclasses.replace(tiny_config, num_layers=4))
    student = Encoder(tiny_config)
    init_from_teacher(student, teacher, teacher_layers=[1, 3])
    s, t = encoder_variables(student), encoder_variables(teacher)
    for i, j in ((0, 1), (1, 3)):
        np.testing.assert_array_equal(
            s[f"block_{i}/intermediate/kernel"].numpy(), t[f"block_{j}/intermediate/kernel"].numpy()
        )
    with pytest.raises(ConfigError, match=r"teacher blocks \[1, 4\]; the teacher has 4"):
        init_from_teacher(student, teacher, teacher_layers=[1, 4])


def test_other_shape_outside_the_word_table_is_an_error(tiny_config):
    teacher = Encoder(tiny_config)
    longer = Encoder(dataclasses.replace(tiny_config, max_length=32))
    with pytest.raises(
        ConfigError, match="embeddings/position_embeddings: shape|position_embeddings"
    ):
        init_from_teacher(longer, teacher)
