"""Distillers: keras.Model subclasses with custom train_step, and their losses."""

from tfcompress.distill.distillation_config import DistillationConfig
from tfcompress.distill.distiller import Distiller, teacher_targets
from tfcompress.distill.layer_maps import pkd_layer_map, resolve_layer_map
from tfcompress.distill.masked_lm_pretrainer import MaskedLMPretrainer

__all__ = [
    "DistillationConfig",
    "Distiller",
    "MaskedLMPretrainer",
    "pkd_layer_map",
    "resolve_layer_map",
    "teacher_targets",
]
