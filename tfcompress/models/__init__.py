"""Encoder config and builder, task models, checkpoint import."""

from tfcompress.models.encoder import INPUT_NAMES, Encoder
from tfcompress.models.encoder_config import EncoderConfig
from tfcompress.models.hf_checkpoint import load_hf_encoder, load_hf_weights, read_hf_config
from tfcompress.models.masked_lm_model import MaskedLMModel
from tfcompress.models.task_models import (
    TASK_TYPES,
    TaskModel,
    build_classifier,
    build_intent_slot_model,
    build_tagger,
    encoder_inputs,
)

__all__ = [
    "INPUT_NAMES",
    "TASK_TYPES",
    "Encoder",
    "EncoderConfig",
    "MaskedLMModel",
    "TaskModel",
    "build_classifier",
    "build_intent_slot_model",
    "build_tagger",
    "encoder_inputs",
    "load_hf_encoder",
    "load_hf_weights",
    "read_hf_config",
]
