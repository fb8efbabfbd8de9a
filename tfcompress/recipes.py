"""Which command a recipe under configs/ is for, and that command's loader and preparation."""

from tfcompress.config_loading import read_yaml

RECIPE_COMMANDS = ("finetune", "distill", "quantize", "pretrain")


def recipe_command(values):
    """The command a recipe mapping is written for, by the section only it has."""
    if "stage" in values:
        return "pretrain"
    if "source" in values:
        return "quantize"
    if "teacher" in values:
        return "distill"
    return "finetune"


def recipe_loader(command):
    """`load(path, overrides)` of `command`'s recipe."""
    if command == "pretrain":
        from tfcompress.distill.pretrain_run_config import load_pretrain_config as load
    elif command == "quantize":
        from tfcompress.distill.quantize_run_config import load_quantize_config as load
    elif command == "distill":
        from tfcompress.distill.distill_run_config import load_distill_config as load
    else:
        from tfcompress.training import load_finetune_config as load
    return load


def prepare_recipe(path, overrides=None, overwrite=False):
    """Loads the recipe at `path` and does everything its command does before the first
    training step (reads data, builds models, checks the output directory), writing
    nothing. Returns the prepared run; its `plan` says what training would do."""
    command = recipe_command(read_yaml(path, overrides))
    config = recipe_loader(command)(path, overrides)
    if command == "pretrain":
        from tfcompress.distill.run_pretrain import prepare_pretrain as prepare
    elif command == "quantize":
        from tfcompress.distill.run_quantize import prepare_quantize as prepare
    elif command == "distill":
        from tfcompress.distill.run_distill import prepare_distill as prepare
    else:
        from tfcompress.training import prepare_finetune as prepare
    return prepare(config, overwrite)
