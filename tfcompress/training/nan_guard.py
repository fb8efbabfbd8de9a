"""Stop training at the first non-finite loss and say where it happened."""

import math

import keras


class NaNGuard(keras.callbacks.Callback):
    """After `fit`, `failure` holds a message when the loss went NaN/inf (else None).

    Unlike keras' TerminateOnNaN it records epoch and batch, so the CLI can tell
    the user what happened; the BackupAndRestore state of the last good epoch
    stays on disk.
    """

    def __init__(self):
        super().__init__()
        self.failure = None
        self._epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(float(loss)):
            self.failure = (
                f"loss became {float(loss)} at epoch {self._epoch + 1}, batch {batch + 1}; "
                "lower training.learning_rate or check the data for empty/garbled rows"
            )
            self.model.stop_training = True
