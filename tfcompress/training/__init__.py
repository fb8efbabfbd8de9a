"""Training engines: fine-tuning now; distillers build on the same run directory."""

from tfcompress.training.finetune import prepare_finetune, run_finetune
from tfcompress.training.finetune_config import (
    FinetuneConfig,
    finetune_config_from_dict,
    load_finetune_config,
)
from tfcompress.training.nan_guard import TrainingError

__all__ = [
    "FinetuneConfig",
    "TrainingError",
    "finetune_config_from_dict",
    "load_finetune_config",
    "prepare_finetune",
    "run_finetune",
]
