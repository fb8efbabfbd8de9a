"""Every recipe under configs/ is valid for the command that runs it."""

from pathlib import Path

import pytest
import yaml

from tfcompress.recipes import recipe_command, recipe_loader

CONFIGS = sorted((Path(__file__).resolve().parents[1] / "configs").rglob("*.yaml"))


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: str(p.relative_to(p.parents[1])))
def test_recipe_loads(path):
    values = yaml.safe_load(path.read_text())
    config = recipe_loader(recipe_command(values))(path)
    assert Path(config.output_dir).is_absolute()  # resolved against the working directory
