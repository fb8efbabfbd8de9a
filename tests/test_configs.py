"""Every recipe under configs/ is valid for the command that runs it."""

from pathlib import Path

import pytest
import yaml

from tfcompress.distill.distill_run_config import load_distill_config
from tfcompress.distill.pretrain_run_config import load_pretrain_config
from tfcompress.distill.quantize_run_config import load_quantize_config
from tfcompress.training import load_finetune_config

CONFIGS = sorted((Path(__file__).resolve().parents[1] / "configs").rglob("*.yaml"))


def _loader(values):
    if "stage" in values:
        return load_pretrain_config
    if "source" in values:
        return load_quantize_config
    if "teacher" in values:
        return load_distill_config
    return load_finetune_config


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: str(p.relative_to(p.parents[1])))
def test_recipe_loads(path):
    values = yaml.safe_load(path.read_text())
    config = _loader(values)(path)
    assert Path(config.output_dir).is_absolute()  # resolved against the working directory
