"""KDLSQ training: the float model teaches its LSQ-quantized copy, steps on their own rates."""

from tfcompress.distill.distiller import Distiller

VARIABLE_GROUPS = ("weights", "weight_steps", "activation_steps")


def variable_group(variable):
    """Which learning rate a variable trains at: its LSQ step kind, or the model weights."""
    if variable.name.endswith("_weight_step"):
        return "weight_steps"
    if variable.name.endswith("_activation_step"):
        return "activation_steps"
    return "weights"


class QuantizationDistiller(Distiller):
    """A `Distiller` whose student is an LSQ-quantized copy of the teacher (KDLSQ).

    Same shape, so layers pair 1:1 (`layer_map: all`) and the teacher runs on every
    batch (no cache). Each variable group — model weights, weight steps, activation
    steps — has its own optimizer (and so its own learning rate and schedule); give
    them to `compile`. The steps should get no weight decay.

    Args:
        student: the quantized `TaskModel` (see `models.quantized_copy`).
        teacher: the float `TaskModel` it was copied from.
        config: a `DistillationConfig`; KDLSQ's losses are `hidden_target="tokens"`,
            `attention_target="scores"`, `layer_map="all"`, plus embedding, soft-target
            and ground-truth terms.
        gradient_clip_norm: float or `None`, the global norm over all groups.
        **kwargs: `keras.Model` arguments such as `name`.

    Example:

    ```python
    distiller = QuantizationDistiller(quantized_copy(model, scheme), model, config)
    distiller.compile(AdamW(2e-5), weight_step_optimizer=Adam(1e-5),
                      activation_step_optimizer=Adam(1e-3))
    distiller.fit(dataset, epochs=1)
    ```
    """

    def compile(self, optimizer, weight_step_optimizer, activation_step_optimizer, **kwargs):
        super().compile(optimizer=optimizer, **kwargs)
        self.weight_step_optimizer = weight_step_optimizer
        self.activation_step_optimizer = activation_step_optimizer
        for name, group_optimizer in self._optimizers().items():
            group_optimizer.build(
                [v for v in self.trainable_variables if variable_group(v) == name]
            )

    def _optimizers(self):
        return {
            "weights": self.optimizer,
            "weight_steps": self.weight_step_optimizer,
            "activation_steps": self.activation_step_optimizer,
        }

    def apply_update(self, gradients, variables):
        for name, group_optimizer in self._optimizers().items():
            pairs = [
                (g, v)
                for g, v in zip(gradients, variables, strict=True)
                if variable_group(v) == name
            ]
            if pairs:
                group_optimizer.apply([g for g, _ in pairs], [v for _, v in pairs])
