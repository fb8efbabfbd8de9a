"""A run's folder: resolved config, logs, checkpoints, backup for resuming, metrics."""

import os
import shutil
from pathlib import Path

import yaml

from tfcompress.atomic_write import save_model_atomic, write_json_atomic, write_text_atomic
from tfcompress.errors import CheckpointError, ConfigError


class RunDirectory:
    """Layout of one run; nothing here is written before `start` is called.

    config.yaml        the resolved config this run used
    backup/            keras BackupAndRestore state while a run is unfinished
    checkpoints/       last.keras after every epoch
    history.csv        per-epoch losses and metrics
    model.keras        the final model; metrics.json its evaluation (written last)
    """

    def __init__(self, path):
        self.path = Path(path)

    config_path = property(lambda self: self.path / "config.yaml")
    backup_dir = property(lambda self: self.path / "backup")
    checkpoint_path = property(lambda self: self.path / "checkpoints" / "last.keras")
    history_path = property(lambda self: self.path / "history.csv")
    model_path = property(lambda self: self.path / "model.keras")
    metrics_path = property(lambda self: self.path / "metrics.json")

    @property
    def is_finished(self):
        return self.metrics_path.is_file()

    def require_finished(
        self, role="run", required=(), command="`tfcompress finetune` or `tfcompress distill`"
    ):
        """Raises a ConfigError naming what is missing unless this is a finished run
        (metrics.json, written last, plus the `required` files) of `command`."""
        if not self.path.exists():
            raise ConfigError(
                f"{role}: no such run directory {self.path}; pass the output_dir of a finished "
                f"{command} run"
            )
        if not self.path.is_dir():
            raise ConfigError(f"{role}: {self.path} is a file, not a run directory")
        missing = [n for n in (*required, "metrics.json") if not (self.path / n).is_file()]
        if missing:
            raise ConfigError(
                f"{role}: {self.path} is not a finished run (missing {', '.join(missing)}); "
                f"run {command} to the end first"
            )

    @property
    def is_interrupted(self):
        return self.backup_dir.is_dir() and any(self.backup_dir.iterdir()) and not self.is_finished

    def check_can_start(self, config_dict, overwrite=False):
        """Refuses to clobber a finished run or resume one with another config.

        Returns True when this start resumes an interrupted run.
        """
        check_writable(self.path, "output_dir")
        if not self.path.exists():
            return False
        if any(self.path.iterdir()) and not self.config_path.is_file():
            raise ConfigError(
                f"output_dir: {self.path} is not empty and is not a tfcompress run directory; "
                "choose a new or empty directory (nothing was deleted)"
            )
        if overwrite:
            return False
        if self.is_finished:
            raise ConfigError(
                f"output_dir: {self.path} already holds a finished run (metrics.json); "
                "choose another output_dir or pass --overwrite"
            )
        if self.is_interrupted:
            saved = (
                yaml.safe_load(self.config_path.read_text()) if self.config_path.is_file() else None
            )
            # A key set to None is a section or option left at its default: a run started
            # before that option existed resumes under the version that added it.
            if _without_none(saved) != _without_none(config_dict):
                raise ConfigError(
                    f"output_dir: {self.path} holds an interrupted run with a different config; "
                    "rerun the same config to resume, or pass --overwrite"
                )
            return True
        return False

    def start(self, config_dict, overwrite=False, resuming=False):
        if overwrite and self.path.exists():
            shutil.rmtree(self.path)
        self.path.mkdir(parents=True, exist_ok=True)
        if not resuming:
            self.history_path.unlink(missing_ok=True)
        write_text_atomic(self.config_path, yaml.safe_dump(config_dict, sort_keys=False))

    def write_text(self, name, text):
        write_text_atomic(self.path / name, text)

    def write_json(self, name, value):
        write_json_atomic(self.path / name, value)

    def save_model(self, model):
        save_model_atomic(model, self.model_path)

    def finish(self, metrics):
        """metrics.json goes last: its presence means the run completed."""
        write_json_atomic(self.metrics_path, metrics)
        shutil.rmtree(self.backup_dir, ignore_errors=True)


def check_writable(path, key):
    """ConfigError naming `key` unless `path` (a directory, existing or not) can be created
    and written: its nearest existing ancestor must be a writable directory."""
    path = Path(path).absolute()
    existing = next(p for p in (path, *path.parents) if p.exists())
    if not existing.is_dir():
        raise ConfigError(f"{key}: {existing} is a file, so {path} cannot be a directory")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise ConfigError(
            f"{key}: {existing} is not writable; choose an output directory you can write to"
        )


def load_keras_model(path):
    """A `.keras` file loaded with safe_mode on: a file that would run Python code (a
    Lambda layer, a pickled function) or that is damaged is a one-line CheckpointError."""
    import keras

    try:
        return keras.models.load_model(path, safe_mode=True)
    except (ValueError, TypeError, OSError) as e:
        reason = (str(e).strip().splitlines() or [type(e).__name__])[0].split(". ")[0]
        raise CheckpointError(
            f"{path}: cannot be loaded with safe_mode ({reason[:200]}); tfcompress never "
            "runs code from a run directory: rebuild the model from tfcompress layers"
        ) from None


def _without_none(values):
    if isinstance(values, dict):
        return {k: _without_none(v) for k, v in values.items() if v is not None}
    return values
