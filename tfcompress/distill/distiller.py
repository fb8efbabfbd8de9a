"""A frozen teacher, a trainable student, and every KD loss in one custom `train_step`."""

import keras
import tensorflow as tf
from keras import ops

from tfcompress.distill import losses
from tfcompress.distill.distillation_config import DistillationConfig
from tfcompress.distill.layer_maps import resolve_layer_map
from tfcompress.errors import ConfigError
from tfcompress.models.encoder import INPUT_NAMES

TEACHER_KEY = "teacher"


def teacher_targets(teacher, inputs, with_intermediate=False, word_layers=()):
    """What the losses need from the teacher: logits and every layer's [CLS] state,
    plus full hidden states and attention maps when `with_intermediate`, and the states
    of `word_layers` as "word_hidden" [B, S, len(word_layers), H] (for `hidden_target`
    "words", whose positions are chosen later, once aligned to the student's words)."""
    logits, features = teacher.forward_with_features(inputs, training=False)
    hidden = features["hidden_states"]
    targets = {
        "logits": logits,
        "cls_hidden": ops.stack([h[:, 0, :] for h in hidden], axis=1),
    }
    if word_layers:
        targets["word_hidden"] = ops.stack([hidden[t] for t in word_layers], axis=2)
    if with_intermediate:
        targets["hidden_states"] = features["hidden_states"]
        targets["attention_probs"] = features["attention_probs"]
        targets["attention_scores"] = features["attention_scores"]
    return targets


def _has_token_logits(output):
    return any(len(head.shape) == 3 for head in keras.tree.flatten(output))


def _token_labels(labels):
    """The [B, S] token labels among a batch's label heads."""
    return next(y for y in keras.tree.flatten(labels) if len(y.shape) == 2)


class Distiller(keras.Model):
    """`compile(optimizer)` + `fit(dataset)` distils `teacher` into `student`.

    Both are task models from `tfcompress.models` (classifier, tagger or joint
    intent + slot). Batches are `(inputs, labels)`; `inputs` may carry cached
    teacher targets under the "teacher" key (see `TeacherCache`), in which case
    the teacher does not run. Each loss term (unweighted) is its own metric
    (gt_loss, kd_loss, hidden_loss, attention_loss, embedding_loss) next to the
    weighted total `loss`, in `fit` and in `evaluate` alike (so `val_loss` is the
    same quantity as `loss`, without dropout). Calling the distiller runs the student.

    `gradient_clip_norm` clips the *global* gradient after summing replicas; give the
    optimizer no clipping of its own (Keras clips per replica, which under
    MirroredStrategy lets a step grow with the replica count).

    Args:
        student: the `TaskModel` to train.
        teacher: a `TaskModel` for the same task; frozen here (`trainable = False`).
        config: a `DistillationConfig` (loss weights, temperature, layer map).
            Defaults to `DistillationConfig()`.
        gradient_clip_norm: float or `None`, the global norm the summed gradient is
            clipped to. Defaults to `None` (no clipping).
        **kwargs: `keras.Model` arguments such as `name`.

    Example:

    ```python
    distiller = Distiller(student, teacher, DistillationConfig(soft_targets=1.0, hidden=1.0))
    distiller.compile(keras.optimizers.AdamW(1e-3))
    distiller.fit(dataset, epochs=2)  # loss, gt_loss, kd_loss, hidden_loss, accuracy
    ```
    """

    def __init__(self, student, teacher, config=None, gradient_clip_norm=None, **kwargs):
        super().__init__(**kwargs)
        self.gradient_clip_norm = gradient_clip_norm
        self.student = student
        self.teacher = teacher
        self.teacher.trainable = False
        self.config = config or DistillationConfig()
        student_encoder, teacher_encoder = student.encoder, teacher.encoder
        self.layer_pairs = self._layer_pairs(student_encoder.config, teacher_encoder.config)
        # Teacher layers whose states the "words" target reads (cached or live).
        self.word_layers = ()
        if self.config.hidden and self.config.hidden_target == "words":
            self.word_layers = tuple(t for _, t in self.layer_pairs)
            if not _has_token_logits(student.output):
                raise ConfigError(
                    "distillation.hidden_target: words compares states at labelled word "
                    "starts, which only token tasks (tagging, intent + slot) have; use cls"
                )
        self.hidden_projection = None
        s_width, t_width = student_encoder.config.hidden_size, teacher_encoder.config.hidden_size
        if (self.config.hidden or self.config.embedding) and s_width != t_width:
            # PKD / TinyBERT: a learned map lets a narrower student imitate wider states.
            self.hidden_projection = keras.layers.Dense(t_width, name="hidden_projection")
            self.hidden_projection.build((None, s_width))
        # gt_loss is reported even at weight 0: it is the task's own validation loss.
        self.loss_names = ["loss", "gt_loss"] + [
            f"{name}_loss"
            for name, key in (
                ("kd", "soft_targets"),
                ("hidden", "hidden"),
                ("attention", "attention"),
                ("embedding", "embedding"),
            )
            if getattr(self.config, key)
        ]
        self.trackers = {name: keras.metrics.Mean(name=name) for name in self.loss_names}
        # Sequence-level accuracy (classifier logits or the joint model's intent); a
        # token tagger has none, and slot quality is scored on words after training.
        output = student.output
        self.accuracy = None
        if isinstance(output, dict) or len(output.shape) == 2:
            self.accuracy = keras.metrics.SparseCategoricalAccuracy(name="accuracy")
        # Student, teacher and projection are built; BackupAndRestore needs the flag.
        self.built = True

    def _layer_pairs(self, student_config, teacher_config):
        c = self.config
        if not (c.hidden or c.attention):
            return []
        pairs = resolve_layer_map(
            c.layer_map, student_config.num_executed_layers, teacher_config.num_executed_layers
        )
        if not pairs:
            raise ConfigError(
                f"distillation.layer_map: {c.layer_map!r} pairs no layers for a "
                f"{student_config.num_executed_layers}-layer student; give explicit pairs or set "
                "hidden and attention to 0"
            )
        if c.attention and student_config.num_heads != teacher_config.num_heads:
            raise ConfigError(
                f"distillation.attention: the student has {student_config.num_heads} heads, "
                f"the teacher {teacher_config.num_heads}; attention maps cannot be compared"
            )
        if c.attention and any(s == 0 or t == 0 for s, t in pairs):
            raise ConfigError("distillation.layer_map: layer 0 (embeddings) has no attention map")
        return pairs

    def _maybe_symbolic_build(self, iterator=None, data_batch=None):
        # Keras 3.15 reads a first batch and averages it across replicas (strategy.reduce),
        # which fails under MultiWorkerMirroredStrategy with two or more workers, for any
        # model. The distiller is built in __init__; with no compiled loss or metrics only
        # the optimizer is left to build, and that needs no data.
        if self._compile_loss is None and self._compile_metrics is None:
            iterator, data_batch = None, None
        super()._maybe_symbolic_build(iterator=iterator, data_batch=data_batch)

    @property
    def metrics(self):
        return [*self.trackers.values()] + ([self.accuracy] if self.accuracy else [])

    def call(self, inputs, training=None):
        return self.student(inputs, training=training)

    def _project(self, x):
        return x if self.hidden_projection is None else self.hidden_projection(x)

    def compute_losses(self, student_logits, student_features, teacher, labels, padding_mask):
        """Loss terms as a dict name → scalar; "loss" is their weighted sum.

        Terms with weight 0 are left out, except `gt_loss`, always computed (and not
        added when its weight is 0) so a KD-only run still reports its task loss."""
        c = self.config
        student_heads = keras.tree.flatten(student_logits)
        label_heads = keras.tree.flatten(labels)
        terms = {
            "gt_loss": sum(
                losses.ground_truth_cross_entropy(y, s)
                for y, s in zip(label_heads, student_heads, strict=True)
            )
        }
        if c.soft_targets:
            teacher_heads = keras.tree.flatten(teacher["logits"])
            terms["kd_loss"] = sum(
                losses.soft_target_kl(
                    s, t, c.temperature, self._kd_mask(s, y, padding_mask, teacher)
                )
                for s, t, y in zip(student_heads, teacher_heads, label_heads, strict=True)
            )
        hidden = student_features["hidden_states"]
        if c.hidden:
            terms["hidden_loss"] = self._hidden_loss(hidden, teacher, labels, padding_mask)
        if c.attention:
            terms["attention_loss"] = self._attention_loss(student_features, teacher, padding_mask)
        if c.embedding:
            terms["embedding_loss"] = losses.hidden_state_mse(
                self._project(hidden[0]), teacher["hidden_states"][0], padding_mask
            )
        weights = {
            "gt_loss": c.ground_truth,
            "kd_loss": c.soft_targets,
            "hidden_loss": c.hidden,
            "attention_loss": c.attention,
            "embedding_loss": c.embedding,
        }
        terms["loss"] = sum(weights[name] * value for name, value in terms.items() if weights[name])
        return terms

    def _kd_mask(self, logits, labels, padding_mask, teacher):
        """Which positions of token-level logits carry soft targets (none for sentences):
        real tokens, or word starts; a teacher aligned from another vocabulary also says
        which word starts it covered (`token_mask`)."""
        if len(logits.shape) != 3:
            return None
        if self.config.token_positions == "all":
            return padding_mask
        return self._word_start_mask(labels, teacher)

    @staticmethod
    def _word_start_mask(token_labels, teacher):
        mask = ops.cast(ops.not_equal(token_labels, -1), "float32")
        if "token_mask" in teacher:
            mask = mask * ops.cast(teacher["token_mask"], "float32")
        return mask

    def _hidden_loss(self, hidden, teacher, labels, padding_mask):
        if self.config.hidden_target == "words":
            mask = self._word_start_mask(_token_labels(labels), teacher)
            states = teacher["word_hidden"]
            return sum(
                losses.normalized_mse(self._project(hidden[s]), states[:, :, k, :], mask)
                for k, (s, _) in enumerate(self.layer_pairs)
            )
        if self.config.hidden_target == "tokens":
            return sum(
                losses.hidden_state_mse(
                    self._project(hidden[s]), teacher["hidden_states"][t], padding_mask
                )
                for s, t in self.layer_pairs
            )
        # PKD sums the patient loss over the mapped layers.
        return sum(
            losses.normalized_mse(
                self._project(hidden[s][:, 0, :]), teacher["cls_hidden"][:, t, :]
            )
            for s, t in self.layer_pairs
        )

    def _attention_loss(self, student_features, teacher, padding_mask):
        key = f"attention_{self.config.attention_target}"
        loss = losses.attention_mse if key == "attention_probs" else losses.attention_score_mse
        maps = student_features[key]
        return sum(
            loss(maps[s - 1], teacher[key][t - 1], padding_mask) for s, t in self.layer_pairs
        ) / len(self.layer_pairs)

    def _split_inputs(self, inputs):
        model_inputs = {name: inputs[name] for name in INPUT_NAMES}
        if not self.config.uses_teacher:
            return model_inputs, None  # KDLSQ's plain LSQ variant: labels only
        cached = inputs.get(TEACHER_KEY) if isinstance(inputs, dict) else None
        if cached is None or self.config.needs_intermediate_features:
            cached = teacher_targets(
                self.teacher,
                model_inputs,
                with_intermediate=self.config.needs_intermediate_features,
                word_layers=self.word_layers,
            )
        return model_inputs, cached

    def _update_accuracy(self, labels, logits):
        if self.accuracy is None:
            return
        if isinstance(logits, dict):
            labels, logits = labels["intent_logits"], logits["intent_logits"]
        self.accuracy.update_state(labels, logits)

    def train_step(self, data):
        inputs, labels = data[0], data[1]
        model_inputs, teacher = self._split_inputs(inputs)
        replicas = tf.distribute.get_strategy().num_replicas_in_sync
        with tf.GradientTape() as tape:
            logits, features = self.student.forward_with_features(model_inputs, training=True)
            terms = self.compute_losses(
                logits, features, teacher, labels, model_inputs["padding_mask"]
            )
            # Replicas' gradients are summed; scaling keeps the step size of one device.
            scaled = terms["loss"] / replicas
        pairs = [
            (g, v)
            for g, v in zip(
                tape.gradient(scaled, self.trainable_variables),
                self.trainable_variables,
                strict=True,
            )
            if g is not None
        ]
        gradients, variables = [g for g, _ in pairs], [v for _, v in pairs]
        if self.gradient_clip_norm:
            gradients = self._clip_across_replicas(gradients, replicas)
        self.apply_update(gradients, variables)
        for name, value in terms.items():
            self.trackers[name].update_state(value)
        self._update_accuracy(labels, logits)
        return self._step_logs()

    def apply_update(self, gradients, variables):
        """One optimizer step; a subclass may route variable groups to optimizers of their own."""
        self.optimizer.apply(gradients, variables)

    def _step_logs(self):
        logs = {m.name: m.result() for m in self.metrics}
        strategy = tf.distribute.get_strategy()
        if (
            isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy)
            and strategy.extended._in_multi_worker_mode()
        ):
            # Keras 3.15 averages a step's logs over workers with reduce(MEAN, axis=0),
            # which rejects scalars (tensorflow#72388): give it a length-1 axis to average.
            logs = {name: value[None] for name, value in logs.items()}
        return logs

    def _clip_across_replicas(self, gradients, replicas):
        # Sum (= mean, the loss was scaled) over replicas, clip that, and hand each
        # replica 1/replicas of it: the optimizer's own cross-replica sum restores it.
        if replicas > 1:
            context = tf.distribute.get_replica_context()
            gradients = context.all_reduce(tf.distribute.ReduceOp.SUM, gradients)
        clipped, _ = tf.clip_by_global_norm(gradients, self.gradient_clip_norm)
        return [tf.math.scalar_mul(1.0 / replicas, g) for g in clipped]

    def test_step(self, data):
        """The same loss terms as `train_step` (weighted total as `loss`, each term as
        its `*_loss`), with dropout off and no update, so `val_loss` compares with `loss`.

        Validation batches carry no cached targets, so the teacher runs on them."""
        inputs, labels = data[0], data[1]
        model_inputs, teacher = self._split_inputs(inputs)
        logits, features = self.student.forward_with_features(model_inputs, training=False)
        terms = self.compute_losses(logits, features, teacher, labels, model_inputs["padding_mask"])
        for name, value in terms.items():
            self.trackers[name].update_state(value)
        self._update_accuracy(labels, logits)
        return self._step_logs()
