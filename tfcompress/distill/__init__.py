"""Distillers: keras.Model subclasses with custom train_step, and their losses."""

from tfcompress.distill.distillation_config import DistillationConfig
from tfcompress.distill.distiller import Distiller, teacher_targets
from tfcompress.distill.layer_maps import pkd_layer_map, resolve_layer_map

__all__ = [
    "DistillationConfig",
    "Distiller",
    "pkd_layer_map",
    "resolve_layer_map",
    "teacher_targets",
]
