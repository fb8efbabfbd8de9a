import keras
import numpy as np
import pytest

from tests.training.helpers import tiny_config
from tfcompress.training import TrainingError, run_finetune
from tfcompress.training.nan_guard import NaNGuard


def test_raises_naming_epoch_and_batch():
    guard = NaNGuard()
    guard.on_epoch_begin(2)
    guard.on_train_batch_end(4, {"loss": 0.5})
    with pytest.raises(TrainingError, match=r"epoch 3, batch 6.*learning_rate"):
        guard.on_train_batch_end(5, {"loss": float("nan")})


class _PoisonWeightsInSecondEpoch(keras.callbacks.Callback):
    def on_train_batch_begin(self, batch, logs=None):
        if self.params and self.model.optimizer.iterations.numpy() == self.params["steps"]:
            kernel = self.model.get_layer("encoder").pooler.kernel
            kernel.assign(np.full(kernel.shape, np.nan, "float32"))


def test_nan_run_keeps_last_good_epoch_for_resuming(tmp_path):
    config = tiny_config(tmp_path / "run")
    with pytest.raises(TrainingError, match="epoch 2"):
        run_finetune(config, callbacks=[_PoisonWeightsInSecondEpoch()], verbose=0)
    saved = keras.models.load_model(tmp_path / "run" / "checkpoints" / "last.keras")
    assert all(np.isfinite(w.numpy()).all() for w in saved.weights)
    assert not (tmp_path / "run" / "metrics.json").exists()
