"""Stop training at the first non-finite loss and say where it happened."""

import math

import keras

from tfcompress.errors import TfcompressError


class TrainingError(TfcompressError):
    """Training diverged (NaN/inf loss)."""


class NaNGuard(keras.callbacks.Callback):
    """Raises `TrainingError` at the first non-finite batch loss, naming epoch and batch.

    Raising (rather than keras' TerminateOnNaN, which only stops) aborts `fit`
    before `on_epoch_end`, so BackupAndRestore and the epoch checkpoint keep the
    last good epoch instead of saving NaN weights as the resume point.
    """

    def __init__(self):
        super().__init__()
        self._epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(float(loss)):
            raise TrainingError(
                f"loss became {float(loss)} at epoch {self._epoch + 1}, batch {batch + 1}; "
                "lower training.learning_rate or check the data for empty/garbled rows "
                "(the last good epoch is kept for resuming)"
            )
