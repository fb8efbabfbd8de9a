"""Mixed-vocabulary stage II with the stage-I teacher: masked-LM plus layer-wise distillation."""

import keras
import numpy as np
from keras import ops

from tfcompress.data.mlm_examples import MASKED_INPUT_NAMES
from tfcompress.distill.losses import normalized_mse, soft_target_kl
from tfcompress.distill.masked_lm_pretrainer import MaskedLMPretrainer
from tfcompress.errors import ConfigError

# The tokens that frame and corrupt a sequence; stage I took them from the teacher's table.
FRAMING_TOKENS = ("[PAD]", "[CLS]", "[SEP]", "[MASK]")


def teacher_token_ids(student_vocab, teacher_vocab):
    """Where each student token sits in stage I's two tables: the framing tokens in the
    teacher's own, every other token in the second table (after the teacher's rows)."""
    home = {token: teacher_vocab.index(token) for token in FRAMING_TOKENS}
    offset = len(teacher_vocab)
    return np.array(
        [home.get(token, offset + i) for i, token in enumerate(student_vocab)], dtype="int32"
    )


def layer_pairs(student_layers, teacher_layers):
    """(student, teacher) hidden-state indices, the embedding output (0) included: every
    student layer with the teacher layer at the same relative depth."""
    if teacher_layers % student_layers:
        raise ConfigError(
            f"distill: the stage-I teacher has {teacher_layers} layers, not a multiple of the "
            f"student's {student_layers}; use a student depth that divides it"
        )
    step = teacher_layers // student_layers
    return [(i, i * step) for i in range(student_layers + 1)]


class StageTwoDistiller(MaskedLMPretrainer):
    """Stage II (Zhao et al.) with the stage-I teacher as a layer-wise teacher.

    Stage I taught the teacher to read the student vocabulary through the student table
    and its up-projection, so the teacher reads the very batch the student does: student
    segmentation, mapped into its tables by `teacher_ids`. Every student hidden state goes
    through one trainable projection to the teacher's width, shared by all layers, and is
    pulled towards the teacher's state at the same relative depth, token by token, with a
    scale-blind loss (`normalized_mse`: MiniLM has a few very large hidden dimensions that
    would dominate a plain MSE). `soft_weight` adds the teacher's
    soft targets over the student vocabulary at the masked positions. The teacher stays
    frozen; the projection trains with the student and is not part of the saved model.

    Metrics: `loss` (the weighted sum), `accuracy` and `mlm_loss` (masked-LM),
    `hidden_loss`, `soft_loss`.

    Args:
        model: the student `MaskedLMModel` (one vocabulary).
        teacher: stage I's `MaskedLMModel` (two vocabularies, student table second).
        teacher_ids: int [student vocab size], each student token's id in the teacher's
            tables (`teacher_token_ids`).
        hidden_weight, soft_weight, temperature: the loss weights (MLM keeps 1) and the
            soft targets' temperature.
        **kwargs: `keras.Model` arguments.
    """

    def __init__(
        self,
        model,
        teacher,
        teacher_ids,
        hidden_weight=1.0,
        soft_weight=0.0,
        temperature=1.0,
        **kwargs,
    ):
        super().__init__(model, **kwargs)
        teacher.trainable = False
        self.teacher = teacher
        self.teacher_ids = np.asarray(teacher_ids, dtype="int32")
        self.teacher_first_vocab = teacher.encoder.config.vocab_size
        self.hidden_weight = float(hidden_weight)
        self.soft_weight = float(soft_weight)
        self.temperature = float(temperature)
        self.pairs = layer_pairs(
            model.encoder.config.num_layers, teacher.encoder.config.num_layers
        )
        self.projection = keras.layers.Dense(
            teacher.encoder.config.hidden_size, name="hidden_projection"
        )
        self.projection.build((None, None, model.encoder.config.hidden_size))
        for name in ("mlm_loss", "hidden_loss", "soft_loss"):
            self.trackers[name] = keras.metrics.Mean(name=name)

    def trained_variables(self):
        return self.model.trainable_variables + self.projection.trainable_variables

    def compute_terms(self, inputs, targets, training):
        student_inputs = {k: inputs[k] for k in MASKED_INPUT_NAMES}
        student = self.model.encoder(student_inputs, training=training)
        logits = self.model.head_logits(student, inputs["mask_positions"], training)
        terms = self.masked_lm_terms(logits, targets)
        teacher_ids = ops.take(self.teacher_ids, inputs["token_ids"])
        teacher_inputs = {**student_inputs, "token_ids": teacher_ids}
        teacher = self.teacher.encoder(teacher_inputs, training=False)
        mask = inputs["padding_mask"]
        terms["hidden_loss"] = ops.mean(
            ops.stack(
                [
                    normalized_mse(
                        self.projection(student["hidden_states"][s]),
                        ops.stop_gradient(teacher["hidden_states"][t]),
                        mask,
                    )
                    for s, t in self.pairs
                ]
            )
        )
        terms["soft_loss"] = self._soft_loss(teacher, inputs, logits, targets)
        terms["mlm_loss"] = terms["loss"]
        terms["loss"] = (
            terms["mlm_loss"]
            + self.hidden_weight * terms["hidden_loss"]
            + self.soft_weight * terms["soft_loss"]
        )
        return terms

    def _soft_loss(self, teacher, inputs, logits, targets):
        if not self.soft_weight:
            return ops.zeros(())
        teacher_logits = self.teacher.head_logits(teacher, inputs["mask_positions"], False)
        teacher_logits = teacher_logits[..., self.teacher_first_vocab :]
        return soft_target_kl(
            logits,
            ops.stop_gradient(teacher_logits),
            self.temperature,
            mask=targets["mask_weights"],
        )
