import os
import socket
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
MINILM = SHARED / "teachers" / "all-minilm-l6-v2"


LOOPBACK = {"127.0.0.1", "::1", "localhost"}


class NetworkDisabled(OSError):
    """Raised by every test's attempt to reach a host other than this one."""


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    """Every test runs offline: connections and name lookups beyond loopback fail (the
    multi-worker and TPU tests use 127.0.0.1). Code that reached for a hub would fail here."""
    connect, getaddrinfo = socket.socket.connect, socket.getaddrinfo

    def checked_connect(self, address):
        host = address[0] if isinstance(address, tuple) else address
        if self.family in (socket.AF_INET, socket.AF_INET6) and host not in LOOPBACK:
            raise NetworkDisabled(f"network disabled in tests: connect to {address!r}")
        return connect(self, address)

    def checked_getaddrinfo(host, *args, **kwargs):
        if host not in LOOPBACK and host is not None:
            raise NetworkDisabled(f"network disabled in tests: lookup of {host!r}")
        return getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket.socket, "connect", checked_connect)
    monkeypatch.setattr(socket, "getaddrinfo", checked_getaddrinfo)


def tiny_encoder_config(**overrides):
    """2 layers, 32 wide, no dropout: the encoder most tests build."""
    from tfcompress.models import EncoderConfig

    values = dict(
        vocab_size=50,
        hidden_size=32,
        num_layers=2,
        num_heads=4,
        intermediate_size=64,
        max_length=16,
        dropout=0.0,
        attention_dropout=0.0,
    )
    return EncoderConfig(**{**values, **overrides})


@pytest.fixture
def tiny_config():
    return tiny_encoder_config()


@pytest.fixture
def tiny_inputs():
    rng = np.random.default_rng(0)
    mask = np.ones((2, 8), "int32")
    mask[1, 5:] = 0
    return {
        "token_ids": rng.integers(1, 50, (2, 8)).astype("int32") * mask,
        "segment_ids": np.concatenate([np.zeros((2, 4)), np.ones((2, 4))], 1).astype("int32"),
        "padding_mask": mask,
    }


@pytest.fixture(scope="session")
def finished_run(tmp_path_factory):
    from tests.training.helpers import tiny_config
    from tfcompress.training import run_finetune

    out = tmp_path_factory.mktemp("finished") / "run"
    summary = run_finetune(tiny_config(out), verbose=0)
    return out, summary


@pytest.fixture(scope="session")
def finished_classification_run(tmp_path_factory):
    """A tiny sentiment teacher (from scratch) trained on a hand-written TSV."""
    from tests.training.helpers import SENTIMENT_ROWS, tiny_config, write_sst2_like
    from tfcompress.training import run_finetune

    root = tmp_path_factory.mktemp("classification")
    train = write_sst2_like(root / "train.tsv", SENTIMENT_ROWS)
    config = tiny_config(
        root / "teacher",
        task="classification",
        data={"format": "glue", "glue_task": "sst2", "train": str(train), "eval": str(train)},
        training__epochs=20,
        training__batch_size=8,
    )
    return root / "teacher", run_finetune(config, verbose=0), train


# Below the default id range (< 100): the latency harness must read it from the model.
TINY_TFLITE_VOCAB = 50


@pytest.fixture(scope="session")
def tiny_tflite(tmp_path_factory):
    """A Keras model with named int32 inputs and a 50-row embedding, as a .tflite file.

    TFLite's GATHER fails on an id >= 50, so timing it also checks the id range."""
    import keras
    import tensorflow as tf

    token_ids = keras.Input((8,), dtype="int32", name="token_ids")
    mask = keras.Input((8,), dtype="int32", name="padding_mask")
    x = keras.layers.Embedding(TINY_TFLITE_VOCAB, 8)(token_ids)
    x = x * keras.ops.expand_dims(keras.ops.cast(mask, "float32"), -1)
    out = keras.layers.Dense(2)(keras.layers.GlobalAveragePooling1D()(x))
    model = keras.Model({"token_ids": token_ids, "padding_mask": mask}, out)
    root = tmp_path_factory.mktemp("tiny")
    model.export(str(root / "saved"), format="tf_saved_model", verbose=False)
    path = root / "tiny.tflite"
    path.write_bytes(tf.lite.TFLiteConverter.from_saved_model(str(root / "saved")).convert())
    return path
