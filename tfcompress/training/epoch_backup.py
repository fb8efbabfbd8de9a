"""Resumable training state, written so that a kill at any instant leaves a usable backup."""

import json
from pathlib import Path

import keras
import numpy as np

from tfcompress.atomic_write import write_json_atomic


class EpochBackup(keras.callbacks.Callback):
    """Saves the fit model's weights, optimizer state and dropout random-generator states
    after every epoch; `restore` puts the newest back and says which epoch training resumes
    at. With the data order a function of the epoch (`tfcompress.data.epoch_seed`), a
    resumed run computes what an uninterrupted one would.

    Keras's BackupAndRestore writes its weights and then its metadata in place, so a kill
    during either leaves a torn file or a metadata epoch that disagrees with the weights.
    Here each epoch's weights go to their own file and `state.json`, replaced atomically
    afterwards, names the file to trust: before the rename the previous pair still holds.

    Args:
        directory: where `state.json` and `epoch-<n>.weights.h5` live.
    """

    def __init__(self, directory):
        super().__init__()
        self.directory = Path(directory)

    @property
    def state_path(self):
        return self.directory / "state.json"

    def restore(self, model):
        """Loads the newest backup into `model` (built, compiled); returns the epoch to
        start at (0 without a backup)."""
        if not self.state_path.is_file():
            return 0
        state = json.loads(self.state_path.read_text())
        if model.optimizer is not None and not model.optimizer.built:
            model.optimizer.build(model.trainable_variables)
        model.load_weights(self.directory / state["weights"])
        with np.load(self.directory / state["random"]) as saved:
            for i, generator in enumerate(_seed_generators(model)):
                generator.state.assign(saved[str(i)])
        return int(state["epochs_done"])

    def on_epoch_end(self, epoch, logs=None):
        self.directory.mkdir(parents=True, exist_ok=True)
        files = {"weights": f"epoch-{epoch + 1}.weights.h5", "random": f"epoch-{epoch + 1}.rng.npz"}
        self.model.save_weights(self.directory / files["weights"], overwrite=True)
        states = {str(i): g.state.numpy() for i, g in enumerate(_seed_generators(self.model))}
        np.savez(self.directory / files["random"], **states)
        write_json_atomic(self.state_path, {"epochs_done": epoch + 1, **files})
        for old in self.directory.glob("epoch-*"):
            if old.name not in files.values():
                old.unlink()


def _seed_generators(model):
    """Every layer's SeedGenerator, in layer order: save_weights leaves their states out."""
    return [g for layer in model._flatten_layers() for g in getattr(layer, "_seed_generators", [])]
