"""MLM pretraining over one or two vocabularies (mixed-vocabulary stages I and II, NoKD)."""

import keras
import tensorflow as tf
from keras import ops

from tfcompress.data.mlm_examples import MASKED_INPUT_NAMES
from tfcompress.distill.losses import split_vocabulary_nll


class MaskedLMPretrainer(keras.Model):
    """`compile(optimizer)` + `fit(dataset)` trains a `MaskedLMModel` by masked-LM.

    Batches are `(inputs, targets)` from `tfcompress.data.mlm_dataset`: the encoder's
    inputs plus `mask_positions`, and `mask_labels` / `mask_weights` [B, P]. With two
    vocabularies (an encoder with a second word table: mixed-vocabulary stage I) each
    masked token is scored by the softmax of the vocabulary that segmented it (Zhao et
    al. eq. 1); with one it is BERT's MLM loss (stage II, NoKD). Metrics: `loss` and
    `accuracy` over all masked tokens, and `<name>_loss` / `<name>_accuracy` per
    vocabulary when there are two.

    Args:
        model: the `MaskedLMModel` to train.
        vocabulary_names: one name per vocabulary, first table first. Defaults to
            `("teacher", "student")` with two tables, `("student",)` with one.
        **kwargs: `keras.Model` arguments such as `name`.

    Example:

    ```python
    pretrainer = MaskedLMPretrainer(MaskedLMModel(encoder))
    pretrainer.compile(keras.optimizers.AdamW(1e-4, global_clipnorm=1.0))
    pretrainer.fit(mlm_dataset(corpus, MaskingConfig(), 32, seed=0), steps_per_epoch=100)
    ```
    """

    def __init__(self, model, vocabulary_names=None, **kwargs):
        super().__init__(**kwargs)
        self.model = model
        config = model.encoder.config
        self.first_vocab_size = config.vocab_size if config.second_vocab_size else 0
        self.vocabulary_names = tuple(
            vocabulary_names
            or (("teacher", "student") if config.second_vocab_size else ("student",))
        )
        names = ["loss", "accuracy"]
        if len(self.vocabulary_names) == 2:
            names += [f"{v}_{m}" for v in self.vocabulary_names for m in ("loss", "accuracy")]
        self.trackers = {name: keras.metrics.Mean(name=name) for name in names}
        if not model.built:
            model.build(None)
        self.built = True

    def compile(self, optimizer, **kwargs):
        super().compile(optimizer=optimizer, **kwargs)
        # Built over every trainable variable now, not lazily over those that got
        # gradients (MLM leaves the pooler without one): a resumed run restores the
        # optimizer only if both sessions built it over the same variables.
        self.optimizer.build(self.trained_variables())

    @property
    def metrics(self):
        return list(self.trackers.values())

    def call(self, inputs, training=None):
        return self.model({k: inputs[k] for k in MASKED_INPUT_NAMES}, training=training)

    def trained_variables(self):
        return self.model.trainable_variables

    def compute_terms(self, inputs, targets, training):
        return self.masked_lm_terms(self(inputs, training=training), targets)

    def masked_lm_terms(self, logits, targets):
        """{"loss", "accuracy", and per vocabulary}: masked-token means."""
        nll, correct = split_vocabulary_nll(logits, targets["mask_labels"], self.first_vocab_size)
        weights = ops.cast(targets["mask_weights"], "float32")
        terms = {"loss": _weighted_mean(nll, weights), "accuracy": _weighted_mean(correct, weights)}
        if len(self.vocabulary_names) == 2:
            in_second = ops.cast(targets["mask_labels"] >= self.first_vocab_size, "float32")
            for name, share in zip(self.vocabulary_names, (1.0 - in_second, in_second)):
                terms[f"{name}_loss"] = _weighted_mean(nll, weights * share)
                terms[f"{name}_accuracy"] = _weighted_mean(correct, weights * share)
        return terms

    def train_step(self, data):
        inputs, targets = data[0], data[1]
        with tf.GradientTape() as tape:
            terms = self.compute_terms(inputs, targets, training=True)
        variables = self.trained_variables()
        gradients = tape.gradient(terms["loss"], variables)
        self.optimizer.apply(
            [g for g in gradients if g is not None],
            [v for g, v in zip(gradients, variables, strict=True) if g is not None],
        )
        return self._update_trackers(terms)

    def test_step(self, data):
        return self._update_trackers(self.compute_terms(data[0], data[1], training=False))

    def _update_trackers(self, terms):
        for name, value in terms.items():
            self.trackers[name].update_state(value)
        return {name: tracker.result() for name, tracker in self.trackers.items()}


def _weighted_mean(values, weights):
    return ops.sum(values * weights) / ops.maximum(ops.sum(weights), 1.0)
