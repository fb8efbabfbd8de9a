"""`tfcompress quantize` (KDLSQ): run directory, resume, variable groups, losses, bad input."""

import csv

import keras
import numpy as np
import pytest

from tests.export.conftest import build_tiny_classifier, make_batch, train_briefly
from tfcompress.distill.quantization_distiller import QuantizationDistiller, variable_group
from tfcompress.distill.quantize_run_config import quantize_config_from_dict
from tfcompress.distill.run_quantize import make_optimizers, run_quantize
from tfcompress.errors import ConfigError
from tfcompress.layers import LsqQuantizer
from tfcompress.export.run_export import export_run
from tfcompress.models.quantized_copy import (
    QuantizationScheme,
    StepInitialization,
    initialize_steps,
    lsq_steps,
    quantized_copy,
)
from tfcompress.tasks import FinishedRun


def _values(source, output_dir, **sections):
    values = {
        "source": str(source),
        "output_dir": str(output_dir),
        "quantization": {"scheme": "4-4-8"},
        "training": {
            "epochs": 2,
            "batch_size": 16,
            "learning_rate": 1e-3,
            "weight_step_learning_rate": 1e-4,
        },
    }
    values.update(sections)
    return values


def test_quantize_run_writes_a_finished_run_that_loads_and_exports(finished_run, tmp_path):
    source, source_summary = finished_run
    summary = run_quantize(quantize_config_from_dict(_values(source, tmp_path / "q")), verbose=0)
    assert summary["quantization"] == {
        "scheme": "4-4-8",
        "method": "lsq_kd_gt",
        "init": "algorithm1",
        # 2 blocks × 6 kernels + word table; 2 layers × (input, context, FFN in/out, 4 matmul
        # operands, the outputs of the attention-output, intermediate and output projections)
        "steps": 13 + 2 * 11,
    }
    assert summary["source"]["eval"] == source_summary["eval"]
    assert set(summary["eval_before_training"]) == set(summary["eval"])
    # 4-bit weights and word table; biases, LayerNorms, positions and the head stay 32-bit.
    assert summary["model"]["packed_bytes"] < summary["model"]["parameters"] * 4 / 3
    run = FinishedRun.read(tmp_path / "q")  # what export and report read
    model = run.load_model()
    assert model.encoder.weight_quantizer.bits == 4
    history = list(csv.DictReader((tmp_path / "q" / "history.csv").open()))
    assert {"gt_loss", "kd_loss", "hidden_loss", "attention_loss", "embedding_loss"} <= set(
        history[0]
    )
    # The tiny synthetic model's intent logits are near ties (its accuracy is chance), so
    # agreement is not the point here; test_lsq_export checks the exported grids exactly.
    report = export_run(
        tmp_path / "q", "qat", representative_examples=32, verify_examples=0, min_agreement=0.0
    )
    assert report["packed_size_bytes"] < report["size_bytes"]
    assert report["keras_accuracy"] == pytest.approx(summary["eval"])


class _StopAfterFirstEpoch(keras.callbacks.Callback):
    def on_epoch_end(self, epoch, logs=None):
        raise KeyboardInterrupt


def test_killed_quantize_run_resumes_with_its_steps_and_optimizers(finished_run, tmp_path):
    source, _ = finished_run
    config = quantize_config_from_dict(_values(source, tmp_path / "q"))
    with pytest.raises(KeyboardInterrupt):
        run_quantize(config, callbacks=[_StopAfterFirstEpoch()], verbose=0)
    assert not (tmp_path / "q" / "metrics.json").exists()
    iterations = []

    class _RecordStart(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            optimizers = (
                self.model.optimizer,
                self.model.weight_step_optimizer,
                self.model.activation_step_optimizer,
            )
            iterations.append([int(o.iterations.numpy()) for o in optimizers])

    summary = run_quantize(config, callbacks=[_RecordStart()], verbose=0)
    # 96 examples / batch 16 = 6 steps done before the kill, in all three optimizers.
    assert iterations == [[6, 6, 6]]
    assert summary["train"]["epochs_this_session"] == 1


def _tiny_kdlsq(scheme="2-2-8"):
    teacher = train_briefly(build_tiny_classifier())
    student = quantized_copy(teacher, QuantizationScheme.parse(scheme))
    rng = np.random.default_rng(5)
    initialize_steps(student, make_batch(rng, 32)[0], StepInitialization())
    return teacher, student, make_batch(rng, 128)


def _kdlsq_config():
    config = quantize_config_from_dict({"source": "x", "output_dir": "y"})
    return config.distillation_config


def test_each_kdlsq_loss_goes_down_on_a_tiny_task():
    teacher, student, (inputs, labels) = _tiny_kdlsq()
    distiller = QuantizationDistiller(student, teacher, _kdlsq_config())
    training = quantize_config_from_dict(
        {"source": "x", "output_dir": "y", "training": {"learning_rate": 3e-3}}
    ).training
    distiller.compile(*make_optimizers(training, total_steps=8 * 10))
    history = distiller.fit(inputs, labels, batch_size=16, epochs=10, verbose=0).history
    for name in ("gt_loss", "kd_loss", "hidden_loss", "attention_loss", "embedding_loss"):
        assert history[name][-1] < history[name][0], (name, history[name])



def test_optimizers_decay_each_group_linearly_to_zero_and_steps_take_no_weight_decay():
    training = quantize_config_from_dict(
        {
            "source": "x",
            "output_dir": "y",
            "training": {
                "learning_rate": 2e-5,
                "weight_step_learning_rate": 1e-5,
                "activation_step_learning_rate": 1e-3,
                "weight_decay": 0.01,
            },
        }
    ).training
    weights, weight_steps, activation_steps = make_optimizers(training, total_steps=100)
    for optimizer, start in ((weights, 2e-5), (weight_steps, 1e-5), (activation_steps, 1e-3)):
        schedule = optimizer._learning_rate  # Keras keeps the schedule there; no public getter
        rates = [float(schedule(step)) for step in (0, 50, 100, 150)]
        assert rates == pytest.approx([start, start / 2, 0.0, 0.0], rel=1e-6, abs=1e-12)
    assert isinstance(weights, keras.optimizers.AdamW) and weights.weight_decay == 0.01
    for optimizer in (weight_steps, activation_steps):
        assert not optimizer.weight_decay  # a decayed step would shrink the grid toward 0


@pytest.mark.parametrize("bits, ratio", [(2, 0.2), (3, 0.03), (4, 0.01), (8, 1e-4)])
def test_algorithm1_defaults_to_the_truncation_the_readme_gives_per_bit_width(bits, ratio):
    init = StepInitialization()
    assert init.truncation(LsqQuantizer(bits, "weight")) == ratio
    assert init.truncation(LsqQuantizer(bits, "activation")) == ratio
    assert StepInitialization(weight_truncation=0.5).truncation(LsqQuantizer(bits, "weight")) == 0.5


def test_constant_init_starts_every_step_at_the_experience_clip_over_qp():
    init = StepInitialization("constant")
    model = quantized_copy(build_tiny_classifier(), QuantizationScheme.parse("4-2-8"), init=init)
    steps = lsq_steps(model)
    weight = {p: float(np.max(v.numpy())) for p, v in steps.items() if "weight_step" in p}
    activation = {p: float(np.max(v.numpy())) for p, v in steps.items() if "activation_step" in p}
    embedding = [p for p in weight if "embedding" in p]
    assert embedding and activation
    for path, step in weight.items():
        qp = 1 if path in embedding else 7  # 2-bit table, 4-bit kernels: Qp = 2^(b-1) - 1
        assert step == pytest.approx(4.0 / qp), path
    probabilities = [p for p in activation if "probs" in p]  # unsigned: [0, 255]
    assert probabilities
    for path, step in activation.items():
        assert step == pytest.approx(16.0 / (255 if path in probabilities else 127)), path

def test_each_variable_group_trains_at_its_own_rate():
    teacher, student, (inputs, labels) = _tiny_kdlsq()
    before = {v.path: v.numpy().copy() for v in student.trainable_variables}
    groups = {v.path: variable_group(v) for v in student.trainable_variables}
    assert set(groups.values()) == {"weights", "weight_steps", "activation_steps"}
    distiller = QuantizationDistiller(student, teacher, _kdlsq_config())
    zero = keras.optimizers.Adam(0.0)
    distiller.compile(zero, keras.optimizers.Adam(0.0), keras.optimizers.Adam(1e-2))
    distiller.fit(inputs, labels, batch_size=32, epochs=1, verbose=0)
    for variable in student.trainable_variables:
        moved = not np.array_equal(variable.numpy(), before[variable.path])
        assert moved == (groups[variable.path] == "activation_steps"), variable.path


def test_a_quantized_sps_model_has_one_step_per_shared_weight_and_saves(tmp_path):
    plan = {"num_layers": 1, "layer_plan": [(0, False), (0, True)]}
    model = quantized_copy(build_tiny_classifier(plan), QuantizationScheme.parse("4-8-8"))
    steps = lsq_steps(model)
    weight_steps = [p for p in steps if p.endswith("_weight_step")]
    activation_steps = [p for p in steps if p.endswith("_activation_step")]
    assert len(weight_steps) == 6 + 1  # one block's kernels + the word table, shared or not
    assert len(activation_steps) == 2 * 11  # each run of the block has its own
    swapped = model.encoder.executed_blocks[1].attention
    base = model.encoder.blocks[0].attention
    assert swapped.query_dense.kernel_quantizer_weights is base.key_dense.kernel_quantizer_weights
    inputs, _ = make_batch(np.random.default_rng(0), 4)
    expected = model(inputs)
    model.save(tmp_path / "m.keras")
    loaded = keras.models.load_model(tmp_path / "m.keras", safe_mode=True)
    np.testing.assert_array_equal(loaded(inputs), expected)


@pytest.mark.parametrize(
    "quantization, message",
    [
        ({"scheme": "1-8-8"}, "weight bits must be in [2, 8], got 1"),
        ({"scheme": "8-8-9"}, "activation bits must be in [2, 8], got 9"),
        ({"scheme": "2-8"}, "is not a W-E-A scheme"),
        ({"scheme": "8-8-8", "init": "random"}, "quantization.init"),
    ],
)
def test_bad_schemes_are_config_errors(quantization, message):
    with pytest.raises(ConfigError, match=message.replace("[", r"\[").replace("]", r"\]")):
        quantize_config_from_dict({"source": "x", "output_dir": "y", "quantization": quantization})


def test_an_already_quantized_model_is_refused(tmp_path):
    model = quantized_copy(build_tiny_classifier(), QuantizationScheme.parse("8-8-8"))
    with pytest.raises(ConfigError, match="already quantized"):
        quantized_copy(model, QuantizationScheme.parse("4-4-8"))


def test_a_model_without_quantizer_slots_is_refused():
    plain = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
    with pytest.raises(ConfigError, match="no quantizer slots"):
        quantized_copy(plain, QuantizationScheme.parse("8-8-8"))


@pytest.mark.parametrize(
    "method, terms",
    [
        ("lsq", {"ground_truth"}),
        ("lsq_kd", {"soft_targets", "hidden", "attention", "embedding"}),
        ("lsq_kd_gt", {"ground_truth", "soft_targets", "hidden", "attention", "embedding"}),
    ],
)
def test_each_method_trains_on_exactly_its_loss_terms(method, terms):
    config = quantize_config_from_dict({"source": "x", "output_dir": "y", "method": method})
    weights = config.distillation_config
    names = ("ground_truth", "soft_targets", "hidden", "attention", "embedding")
    assert {name for name in names if getattr(weights, name)} == terms


def test_plain_lsq_trains_without_running_the_teacher():
    teacher, student, (inputs, labels) = _tiny_kdlsq()
    config = quantize_config_from_dict({"source": "x", "output_dir": "y", "method": "lsq"})

    def teacher_forward(*args, **kwargs):
        raise AssertionError("the lsq method has no teacher term; the teacher must not run")

    teacher.forward_with_features = teacher_forward
    distiller = QuantizationDistiller(student, teacher, config.distillation_config)
    distiller.compile(*make_optimizers(config.training, total_steps=8))
    history = distiller.fit(inputs, labels, batch_size=16, epochs=1, verbose=0).history
    assert set(history) == {"gt_loss", "loss", "accuracy"}
    assert np.isfinite(history["loss"][0])
