"""Save the model after every epoch without ever leaving a half-written file."""

import keras

from tfcompress.atomic_write import save_model_atomic


class AtomicModelCheckpoint(keras.callbacks.Callback):
    """Saves `model` (default: the model being fit) to `path` after every epoch."""

    def __init__(self, path, model=None):
        super().__init__()
        self.path = path
        self.model_to_save = model

    def on_epoch_end(self, epoch, logs=None):
        save_model_atomic(self.model_to_save or self.model, self.path)
