import dataclasses

import keras
import numpy as np
import pytest

from tfcompress.distill import DistillationConfig, Distiller, teacher_targets
from tfcompress.errors import ConfigError
from tfcompress.models import Encoder, build_classifier, build_intent_slot_model


def _models(tiny_config, student_changes=None, builder=build_classifier, *heads):
    heads = heads or (2,)
    teacher = builder(Encoder(dataclasses.replace(tiny_config, num_layers=4)), *heads)
    student_config = dataclasses.replace(tiny_config, **(student_changes or {}))
    return builder(Encoder(student_config), *heads), teacher


def _batch(tiny_inputs, n=8):
    rng = np.random.default_rng(3)
    inputs = {k: np.repeat(v, n // 2, axis=0) for k, v in tiny_inputs.items()}
    inputs["token_ids"] = rng.integers(1, 50, inputs["token_ids"].shape).astype("int32")
    return inputs, rng.integers(0, 2, n)


ALL_LOSSES = DistillationConfig(
    ground_truth=0.3,
    soft_targets=0.7,
    temperature=2.0,
    hidden=2.0,
    attention=3.0,
    embedding=0.5,
    layer_map="skip",
)


def test_losses_match_terms_computed_by_hand(tiny_config, tiny_inputs):
    student, teacher = _models(tiny_config)
    distiller = Distiller(student, teacher, ALL_LOSSES)
    inputs, labels = _batch(tiny_inputs)
    from tfcompress.distill import losses

    logits, feats = student.forward_with_features(inputs)
    t = teacher_targets(teacher, inputs, with_intermediate=True)
    terms = distiller.compute_losses(logits, feats, t, labels, inputs["padding_mask"])
    expected_hidden = losses.normalized_cls_mse(
        feats["hidden_states"][1][:, 0], t["cls_hidden"][:, 2]
    )
    assert distiller.layer_pairs == [(1, 2)]
    np.testing.assert_allclose(terms["hidden_loss"], expected_hidden, rtol=1e-6)
    np.testing.assert_allclose(
        terms["kd_loss"], losses.soft_target_kl(logits, t["logits"], 2.0), rtol=1e-6
    )
    weights = {
        "gt_loss": 0.3,
        "kd_loss": 0.7,
        "hidden_loss": 2.0,
        "attention_loss": 3.0,
        "embedding_loss": 0.5,
    }
    total = sum(weights[k] * float(terms[k]) for k in weights)
    assert float(terms["loss"]) == pytest.approx(total, rel=1e-5)


def test_fit_decreases_loss_and_reports_each_term(tiny_config, tiny_inputs):
    keras.utils.set_random_seed(0)
    student, teacher = _models(tiny_config, {"hidden_size": 16, "num_heads": 4})
    config = dataclasses.replace(ALL_LOSSES, attention=1.0)
    distiller = Distiller(student, teacher, config)
    assert distiller.hidden_projection is not None  # 16-wide student, 32-wide teacher
    distiller.compile(keras.optimizers.Adam(3e-3))
    inputs, labels = _batch(tiny_inputs)
    history = distiller.fit(inputs, labels, epochs=12, batch_size=8, verbose=0).history
    for name in (
        "loss",
        "gt_loss",
        "kd_loss",
        "hidden_loss",
        "attention_loss",
        "embedding_loss",
        "accuracy",
    ):
        assert name in history, name
    assert history["loss"][-1] < 0.7 * history["loss"][0]
    teacher_before = [w.numpy().copy() for w in teacher.weights]
    distiller.fit(inputs, labels, epochs=1, verbose=0)
    for before, after in zip(teacher_before, teacher.weights, strict=True):
        np.testing.assert_array_equal(before, after.numpy())  # teacher stays frozen


def test_cached_teacher_targets_replace_the_teacher(tiny_config, tiny_inputs):
    student, teacher = _models(tiny_config)
    distiller = Distiller(student, teacher, DistillationConfig(hidden=1.0))
    inputs, labels = _batch(tiny_inputs)
    live = {k: np.asarray(v) for k, v in teacher_targets(teacher, inputs).items()}
    _, used = distiller._split_inputs({**inputs, "teacher": live})
    assert used is not None and set(used) == {"logits", "cls_hidden"}
    np.testing.assert_array_equal(used["logits"], live["logits"])
    # A cache with other values changes the loss: the teacher really is not consulted.
    fake = {**live, "logits": np.tile(np.float32([[5.0, -5.0]]), (len(labels), 1))}
    distiller.compile(keras.optimizers.SGD(0.0))
    real_kd = float(distiller.train_step(({**inputs, "teacher": live}, labels))["kd_loss"])
    distiller.trackers["kd_loss"].reset_state()
    fake_kd = float(distiller.train_step(({**inputs, "teacher": fake}, labels))["kd_loss"])
    assert abs(fake_kd - real_kd) > 0.1


def test_joint_intent_slot_distillation(tiny_config, tiny_inputs):
    student, teacher = _models(tiny_config, None, build_intent_slot_model, 3, 5)
    distiller = Distiller(student, teacher, DistillationConfig(hidden=1.0))
    distiller.compile(keras.optimizers.Adam(1e-3))
    inputs, _ = _batch(tiny_inputs)
    labels = {
        "intent_logits": np.arange(8) % 3,
        "slot_logits": np.where(inputs["padding_mask"] == 1, 1, -1),
    }
    history = distiller.fit(inputs, labels, epochs=2, batch_size=4, verbose=0).history
    assert np.isfinite(history["kd_loss"]).all() and "accuracy" in history


def test_attention_needs_equal_heads(tiny_config):
    student, teacher = _models(tiny_config, {"num_heads": 2})
    with pytest.raises(ConfigError, match="heads"):
        Distiller(student, teacher, DistillationConfig(attention=1.0))


def test_one_layer_student_with_skip_map_pairs_nothing(tiny_config):
    student, teacher = _models(tiny_config, {"num_layers": 1})
    with pytest.raises(ConfigError, match="pairs no layers"):
        Distiller(student, teacher, DistillationConfig(hidden=1.0, layer_map="skip"))


@pytest.mark.parametrize("layer_map", [[[1, 2, 3]], [1, 2], [["a", 1]]])
def test_malformed_layer_map_is_a_config_error(layer_map):
    with pytest.raises(ConfigError, match="layer_map"):
        DistillationConfig(hidden=1.0, layer_map=layer_map)


def test_token_tagging_distillation(tiny_config, tiny_inputs):
    from tfcompress.models import build_tagger

    student, teacher = _models(tiny_config, None, build_tagger, 5)
    distiller = Distiller(student, teacher, DistillationConfig(hidden=1.0))
    distiller.compile(keras.optimizers.Adam(3e-3))
    inputs, _ = _batch(tiny_inputs)
    labels = np.where(inputs["padding_mask"] == 1, inputs["token_ids"] % 5, -1)
    history = distiller.fit(inputs, labels, epochs=8, batch_size=8, verbose=0).history
    assert "accuracy" not in history  # no sequence-level head to score
    assert history["gt_loss"][-1] < history["gt_loss"][0]
