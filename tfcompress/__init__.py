"""tfcompress: make BERT-family encoders small and fast enough for a phone (Keras 3 / TensorFlow)."""

import os

# The library is written for Keras 3 on the TensorFlow backend (TFLite export,
# tf.data, tensorflow-text); respect an explicit choice but default to it.
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

__version__ = "0.1.0"
