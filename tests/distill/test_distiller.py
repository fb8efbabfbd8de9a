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


def _padded_batch(n=6, length=8, seed=5):
    """Rows of different real lengths (one full, one of 2 tokens), two segments."""
    rng = np.random.default_rng(seed)
    lengths = np.array([8, 6, 3, 8, 5, 2][:n])
    mask = (np.arange(length)[None] < lengths[:, None]).astype("int32")
    segments = (np.arange(length)[None] >= (lengths[:, None] + 1) // 2).astype("int32") * mask
    token_ids = rng.integers(1, 50, (n, length)).astype("int32") * mask
    inputs = {"token_ids": token_ids, "segment_ids": segments, "padding_mask": mask}
    return inputs, rng.integers(0, 2, n)


def _log_softmax(x):
    x = np.asarray(x, np.float64)
    shifted = x - x.max(-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(-1, keepdims=True))


def _numpy_terms(distiller, inputs, labels, config, pairs):
    """Each loss term from the two models' features, in float64 numpy (no tfcompress losses)."""
    student, teacher = distiller.student, distiller.teacher
    s_logits, s_feats = student.forward_with_features(inputs, training=False)
    t_logits, t_feats = teacher.forward_with_features(inputs, training=False)
    f64 = lambda x: np.asarray(x, np.float64)  # noqa: E731
    s_logits, t_logits = f64(s_logits), f64(t_logits)
    s_hidden = [f64(h) for h in s_feats["hidden_states"]]
    t_hidden = [f64(h) for h in t_feats["hidden_states"]]
    s_attn = [f64(a) for a in s_feats["attention_probs"]]
    t_attn = [f64(a) for a in t_feats["attention_probs"]]
    real = inputs["padding_mask"].astype(bool)
    projection = distiller.hidden_projection
    if projection is None:
        project = lambda x: x  # noqa: E731
    else:
        kernel, bias = (f64(w) for w in projection.weights)
        project = lambda x: x @ kernel + bias  # noqa: E731
    T = config.temperature
    terms = {}
    terms["gt_loss"] = -_log_softmax(s_logits)[np.arange(len(labels)), labels].mean()
    p_t, log_p_s = np.exp(_log_softmax(t_logits / T)), _log_softmax(s_logits / T)
    terms["kd_loss"] = (p_t * (np.log(p_t) - log_p_s)).sum(-1).mean() * T * T

    def unit(x):
        return x / np.linalg.norm(x, axis=-1, keepdims=True)

    terms["hidden_loss"] = sum(
        ((unit(project(s_hidden[s][:, 0])) - unit(t_hidden[t][:, 0])) ** 2).sum(-1).mean()
        for s, t in pairs
    )
    # [B, heads, S(query), S(key)]: mean over heads and keys, then over real query rows.
    terms["attention_loss"] = np.mean(
        [((s_attn[s - 1] - t_attn[t - 1]) ** 2).mean(axis=(1, 3))[real].mean() for s, t in pairs]
    )
    terms["embedding_loss"] = ((project(s_hidden[0]) - t_hidden[0]) ** 2).mean(-1)[real].mean()
    return terms


TWO_PAIRS = dataclasses.replace(ALL_LOSSES, layer_map=[[1, 2], [2, 4]])


def _peaked(tiny_config):
    # Larger initial weights: attention maps and logits far from uniform, so every term
    # is O(0.1..4) and a wrong mask or factor moves it by far more than the tolerance.
    keras.utils.set_random_seed(0)
    return dataclasses.replace(tiny_config, initializer_range=0.5)


@pytest.mark.parametrize("student_width", [32, 16], ids=["same_width", "projected"])
def test_each_loss_term_matches_numpy(tiny_config, student_width):
    student, teacher = _models(_peaked(tiny_config), {"hidden_size": student_width, "num_heads": 4})
    distiller = Distiller(student, teacher, TWO_PAIRS)
    assert (distiller.hidden_projection is None) == (student_width == 32)
    inputs, labels = _padded_batch()
    expected = _numpy_terms(distiller, inputs, labels, TWO_PAIRS, [(1, 2), (2, 4)])

    logits, feats = student.forward_with_features(inputs, training=False)
    targets = teacher_targets(teacher, inputs, with_intermediate=True)
    terms = distiller.compute_losses(logits, feats, targets, labels, inputs["padding_mask"])
    for name, value in expected.items():
        assert value > 0.05, name  # large enough for a relative check to mean something
        assert float(terms[name]) == pytest.approx(value, rel=1e-5), name
    weights = {
        "gt_loss": 0.3,
        "kd_loss": 0.7,
        "hidden_loss": 2.0,
        "attention_loss": 3.0,
        "embedding_loss": 0.5,
    }
    total = sum(weights[k] * expected[k] for k in weights)
    assert float(terms["loss"]) == pytest.approx(total, rel=1e-5)


def test_numpy_check_sees_padding(tiny_config):
    # Masked and unmasked means differ by percents on this batch, so a loss that forgot
    # the mask could not pass test_each_loss_term_matches_numpy at its 1e-5 tolerance.
    student, teacher = _models(_peaked(tiny_config))
    inputs, _ = _padded_batch()
    real = inputs["padding_mask"].astype(bool)
    assert (~real).sum() >= 10
    _, s_feats = student.forward_with_features(inputs, training=False)
    _, t_feats = teacher.forward_with_features(inputs, training=False)
    per_row = np.mean(
        (np.asarray(s_feats["attention_probs"][0]) - np.asarray(t_feats["attention_probs"][1]))
        ** 2,
        axis=(1, 3),
    )
    per_token = np.mean(
        (np.asarray(s_feats["hidden_states"][0]) - np.asarray(t_feats["hidden_states"][0])) ** 2,
        axis=-1,
    )
    for values in (per_row, per_token):
        assert abs(values[real].mean() - values.mean()) > 1e-2 * values[real].mean()


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


def _intent_slot_arrays(tokenizer, data):
    from tfcompress.data import intent_slot_dataset, synthetic_label_names

    names = synthetic_label_names()
    dataset = intent_slot_dataset(data, tokenizer, names["intents"], names["tags"], len(data))
    x, y = next(iter(dataset))
    return keras.tree.map_structure(np.asarray, x), keras.tree.map_structure(np.asarray, y)


def _intent_slot_model(tokenizer, num_layers):
    from tfcompress.data import synthetic_label_names
    from tfcompress.models import EncoderConfig

    names = synthetic_label_names()
    config = EncoderConfig(
        vocab_size=tokenizer.vocab_size,
        hidden_size=32,
        num_layers=num_layers,
        num_heads=2,
        intermediate_size=64,
        max_length=tokenizer.sequence_length,
    )
    return build_intent_slot_model(Encoder(config), len(names["intents"]), len(names["tags"]))


def test_joint_intent_slot_student_learns_from_the_teacher():
    # Soft targets only (ground-truth weight 0): whatever the student learns about intents
    # and slots it learns from the teacher's logits. Held-out data, 5 intents (chance 0.2).
    from tfcompress.data import (
        WordPieceTokenizer,
        generate_intent_slot_data,
        learn_wordpiece_vocabulary,
    )

    keras.utils.set_random_seed(0)
    train, held_out = generate_intent_slot_data(256, seed=0), generate_intent_slot_data(64, seed=1)
    vocab = learn_wordpiece_vocabulary([" ".join(w) for w in train.words], 300)
    tokenizer = WordPieceTokenizer(vocab, sequence_length=24)
    (x, y), (x_held, y_held) = (_intent_slot_arrays(tokenizer, d) for d in (train, held_out))

    teacher = _intent_slot_model(tokenizer, num_layers=2)
    ce = keras.losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=-1)
    teacher.compile(keras.optimizers.Adam(5e-3), {"intent_logits": ce, "slot_logits": ce})
    teacher.fit(x, y, batch_size=16, epochs=10, verbose=0)

    def intent_accuracy(model):
        predicted = np.asarray(model(x_held, training=False)["intent_logits"]).argmax(-1)
        return (predicted == y_held["intent_logits"]).mean()

    def slot_accuracy(model):  # on each word's first wordpiece
        predicted = np.asarray(model(x_held, training=False)["slot_logits"]).argmax(-1)
        labelled = y_held["slot_logits"] >= 0
        return (predicted[labelled] == y_held["slot_logits"][labelled]).mean()

    labelled = y_held["slot_logits"] >= 0
    outside_rate = (y_held["slot_logits"][labelled] == 0).mean()  # always predicting "O"
    assert intent_accuracy(teacher) >= 0.8  # measured 0.92
    assert slot_accuracy(teacher) >= outside_rate + 0.2  # measured 0.92 vs 0.62

    student = _intent_slot_model(tokenizer, num_layers=1)
    distiller = Distiller(student, teacher, DistillationConfig(ground_truth=0.0, soft_targets=1.0))
    distiller.compile(keras.optimizers.Adam(5e-3))
    history = distiller.fit(x, y, batch_size=16, epochs=8, verbose=0).history
    assert history["kd_loss"][-1] < 0.3 * history["kd_loss"][0]  # measured 7.3 -> 0.91
    # Reported at weight 0 too: the task loss on true labels falls as the student follows.
    assert history["gt_loss"][-1] < 0.5 * history["gt_loss"][0]
    assert intent_accuracy(student) >= 0.6  # measured 0.95
    assert slot_accuracy(student) >= outside_rate + 0.1  # measured 0.88


def test_slot_soft_targets_ignore_padding(tiny_config):
    student, teacher = _models(_peaked(tiny_config), None, build_intent_slot_model, 3, 5)
    distiller = Distiller(student, teacher, DistillationConfig(ground_truth=0.0, temperature=2.0))
    inputs, _ = _padded_batch()
    labels = {"intent_logits": np.arange(6) % 3, "slot_logits": np.zeros((6, 8), "int64")}
    padded = inputs["padding_mask"] == 0
    logits, feats = student.forward_with_features(inputs, training=False)
    targets = teacher_targets(teacher, inputs)

    def kd(slot_targets):
        changed = {**targets, "logits": {**targets["logits"], "slot_logits": slot_targets}}
        terms = distiller.compute_losses(logits, feats, changed, labels, inputs["padding_mask"])
        return float(terms["kd_loss"])

    slot_targets = np.asarray(targets["logits"]["slot_logits"])
    noise = np.random.default_rng(0).normal(0.0, 10.0, slot_targets.shape).astype("float32")

    # By hand: intent KL over examples + slot KL over real tokens, times T².
    def kl(s, t):
        p = np.exp(_log_softmax(np.asarray(t) / 2.0))
        return (p * (np.log(p) - _log_softmax(np.asarray(s) / 2.0))).sum(-1) * 4.0

    expected = kl(logits["intent_logits"], targets["logits"]["intent_logits"]).mean()
    expected += kl(logits["slot_logits"], slot_targets)[~padded].mean()
    assert kd(slot_targets) == pytest.approx(expected, rel=1e-5)
    assert kd(np.where(padded[..., None], noise, slot_targets)) == pytest.approx(
        kd(slot_targets), rel=1e-6
    )
    real_noise = np.where(padded[..., None], 0.0, noise)
    assert abs(kd(slot_targets + real_noise) - kd(slot_targets)) > 0.1


def test_unlabelled_word_starts_train_on_soft_targets_alone(tiny_config):
    # Slot label -2 (a word data.phrase_fill put there): a word start for the soft targets,
    # no gold label for the ground truth.
    student, teacher = _models(_peaked(tiny_config), None, build_intent_slot_model, 3, 5)
    config = DistillationConfig(temperature=2.0, token_positions="word_starts")
    distiller = Distiller(student, teacher, config)
    inputs, _ = _padded_batch()
    slots = np.full((6, 8), -1, "int64")
    slots[:, 1] = 2
    slots[:, 2] = -2
    labels = {"intent_logits": np.arange(6) % 3, "slot_logits": slots}
    logits, feats = student.forward_with_features(inputs, training=False)
    targets = teacher_targets(teacher, inputs)
    terms = distiller.compute_losses(logits, feats, targets, labels, inputs["padding_mask"])

    def kl(s, t):
        p = np.exp(_log_softmax(np.asarray(t) / 2.0))
        return (p * (np.log(p) - _log_softmax(np.asarray(s) / 2.0))).sum(-1) * 4.0

    def ce(s, y):
        return -np.take_along_axis(_log_softmax(np.asarray(s)), y[..., None], -1)[..., 0]

    slot_logits = np.asarray(logits["slot_logits"])
    expected_gt = ce(logits["intent_logits"], labels["intent_logits"]).mean()
    expected_gt += ce(slot_logits[:, 1], slots[:, 1]).mean()
    expected_kd = kl(logits["intent_logits"], targets["logits"]["intent_logits"]).mean()
    slot_targets = np.asarray(targets["logits"]["slot_logits"])
    expected_kd += kl(slot_logits[:, 1:3], slot_targets[:, 1:3]).mean()
    assert float(terms["gt_loss"]) == pytest.approx(expected_gt, rel=1e-5)
    assert float(terms["kd_loss"]) == pytest.approx(expected_kd, rel=1e-5)


def test_evaluate_reports_the_training_loss_terms(tiny_config):
    # With dropout in both models: evaluate must run them with training=False and weigh
    # the same terms as fit, so its `loss` equals compute_losses on the batch.
    config = dataclasses.replace(_peaked(tiny_config), dropout=0.2, attention_dropout=0.2)
    student, teacher = _models(config, {"hidden_size": 16, "num_heads": 4})
    distiller = Distiller(student, teacher, TWO_PAIRS)
    distiller.compile(keras.optimizers.Adam(1e-2))
    inputs, labels = _padded_batch()
    distiller.fit(inputs, labels, epochs=1, batch_size=len(labels), verbose=0)
    evaluated = distiller.evaluate(
        inputs, labels, batch_size=len(labels), verbose=0, return_dict=True
    )
    logits, feats = student.forward_with_features(inputs, training=False)
    targets = teacher_targets(teacher, inputs, with_intermediate=True)
    expected = distiller.compute_losses(logits, feats, targets, labels, inputs["padding_mask"])
    assert set(evaluated) == set(expected) | {"accuracy"}
    for name, value in expected.items():
        assert evaluated[name] == pytest.approx(float(value), rel=1e-5), name
    gt_only = float(expected["gt_loss"])
    assert abs(evaluated["loss"] - gt_only) > 0.1 * gt_only  # the weighted total, not CE


def test_val_loss_is_the_same_quantity_as_loss(tiny_config):
    # No dropout and a zero learning rate: training and validating on the same batch
    # must report the same numbers under the same names.
    config = _peaked(tiny_config)
    teacher = build_classifier(Encoder(dataclasses.replace(config, num_layers=4)), 2, dropout=0.0)
    student = build_classifier(Encoder(config), 2, dropout=0.0)
    distiller = Distiller(student, teacher, TWO_PAIRS)
    distiller.compile(keras.optimizers.SGD(0.0))
    inputs, labels = _padded_batch()
    history = distiller.fit(
        inputs,
        labels,
        epochs=1,
        batch_size=len(labels),
        validation_data=(inputs, labels),
        verbose=0,
    ).history
    for name in ("loss", "gt_loss", "kd_loss", "hidden_loss", "attention_loss", "embedding_loss"):
        assert history[f"val_{name}"][0] == pytest.approx(history[name][0], rel=1e-5), name


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


def test_word_states_loss_by_hand_at_word_starts_only(tiny_config):
    # A narrower student (projected) of an intent + slot teacher; the loss compares the
    # normalized states of student layer 2 and teacher layer 4 at labelled word starts
    # that the teacher covered (token_mask), nowhere else.
    config = DistillationConfig(
        ground_truth=0.0, soft_targets=0.0, hidden=1.0, hidden_target="words", layer_map=[[2, 4]]
    )
    student, teacher = _models(
        _peaked(tiny_config), {"hidden_size": 16, "num_heads": 4}, build_intent_slot_model, 3, 5
    )
    distiller = Distiller(student, teacher, config)
    assert distiller.word_layers == (4,)
    inputs, _ = _padded_batch()
    slots = np.full((6, 8), -1, "int64")
    slots[:, 1:3] = 0  # two words per row start at positions 1 and 2
    labels = {"intent_logits": np.arange(6) % 3, "slot_logits": slots}
    token_mask = np.ones((6, 8), "float32")
    token_mask[0, 2] = 0.0  # a word the teacher's sequence length cut off
    targets = {**teacher_targets(teacher, inputs, word_layers=(4,)), "token_mask": token_mask}
    assert targets["word_hidden"].shape == (6, 8, 1, 32)
    logits, feats = student.forward_with_features(inputs, training=False)
    hidden_loss = float(
        distiller.compute_losses(logits, feats, targets, labels, inputs["padding_mask"])[
            "hidden_loss"
        ]
    )

    kernel, bias = (np.asarray(w, np.float64) for w in distiller.hidden_projection.weights)
    s = np.asarray(feats["hidden_states"][2], np.float64) @ kernel + bias
    t = np.asarray(targets["word_hidden"][:, :, 0], np.float64)
    unit = lambda x: x / np.linalg.norm(x, axis=-1, keepdims=True)  # noqa: E731
    per_token = ((unit(s) - unit(t)) ** 2).sum(-1)
    counted = (slots != -1) & (token_mask == 1)
    assert counted.sum() == 11
    assert hidden_loss == pytest.approx(per_token[counted].mean(), rel=1e-5)
    assert abs(per_token.mean() - per_token[counted].mean()) > 0.01  # the mask matters


def test_word_states_need_a_token_task(tiny_config):
    student, teacher = _models(tiny_config)
    config = DistillationConfig(hidden=1.0, hidden_target="words")
    with pytest.raises(ConfigError, match="only token tasks"):
        Distiller(student, teacher, config)
