"""Save the model after every epoch without ever leaving a half-written file."""

import keras

from tfcompress.atomic_write import save_model_atomic


class AtomicModelCheckpoint(keras.callbacks.Callback):
    def __init__(self, path):
        super().__init__()
        self.path = path

    def on_epoch_end(self, epoch, logs=None):
        save_model_atomic(self.model, self.path)
