import numpy as np
import pytest

SEQ = 16
VOCAB = 60


def make_batch(rng, n):
    """Class = whether token 7 occurs: learnable in a few steps, so logits are decisive."""
    ids = rng.integers(8, VOCAB, (n, SEQ)).astype("int32")
    labels = rng.integers(0, 2, n)
    ids[labels == 1, 3] = 7
    mask = np.ones((n, SEQ), "int32")
    mask[:, 12:] = 0
    ids *= mask
    inputs = {"token_ids": ids, "segment_ids": np.zeros_like(ids), "padding_mask": mask}
    return inputs, labels


def build_tiny_classifier(config_overrides=None, **quantizers):
    from tfcompress.models import Encoder, EncoderConfig, build_classifier

    values = dict(
        vocab_size=VOCAB,
        hidden_size=32,
        num_layers=2,
        num_heads=2,
        intermediate_size=64,
        max_length=SEQ,
        dropout=0.0,
        attention_dropout=0.0,
    )
    config = EncoderConfig(**{**values, **(config_overrides or {})})
    return build_classifier(Encoder(config, **quantizers), 2, sequence_length=SEQ, dropout=0.0)


def train_briefly(model, seed=0):
    rng = np.random.default_rng(seed)
    return fit_briefly(model, *make_batch(rng, 512))


def fit_briefly(model, inputs, labels):
    """Four epochs of Adam on (inputs, labels): enough for the tiny models' toy tasks."""
    import keras

    model.compile(
        optimizer=keras.optimizers.Adam(3e-3),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    model.fit(inputs, labels, batch_size=32, epochs=4, verbose=0)
    return model


def trained_lsq_model(scheme, per_channel=False, plan=None):
    """The tiny classifier, trained, then its LSQ copy at `scheme` (Algorithm 1 init) after a
    little quantization-aware training, which moves weights and steps off their initial values."""
    import keras

    from tfcompress.models.quantized_copy import (
        QuantizationScheme,
        StepInitialization,
        initialize_steps,
        quantized_copy,
    )

    keras.utils.set_random_seed(3)
    rng = np.random.default_rng(3)
    float_model = train_briefly(build_tiny_classifier(plan))
    model = quantized_copy(float_model, QuantizationScheme.parse(scheme), per_channel)
    inputs, labels = make_batch(rng, 512)
    initialize_steps(model, make_batch(rng, 32)[0], StepInitialization())
    return fit_briefly(model, inputs, labels)


@pytest.fixture(scope="session")
def tiny_classifier():
    return train_briefly(build_tiny_classifier())


@pytest.fixture(scope="session")
def export_data():
    rng = np.random.default_rng(1)
    calibration = [make_batch(rng, 16)[0] for _ in range(4)]
    verification = [make_batch(rng, 32)[0] for _ in range(2)]
    return calibration, verification


# The strings-in tests' models and tokenizer (tests/export/test_text_model.py's vocabulary),
# shared by test_text_model.py and test_length_buckets.py.
@pytest.fixture(scope="module")
def tokenizer():
    from tests.export.test_text_model import SEQ as TEXT_SEQ
    from tests.export.test_text_model import VOCAB as TEXT_VOCAB
    from tfcompress.data.wordpiece_tokenizer import WordPieceTokenizer

    return WordPieceTokenizer(TEXT_VOCAB, sequence_length=TEXT_SEQ)


@pytest.fixture(scope="module")
def classifier():
    """Untrained: near-tied logits, for checks that need the function, not its margins."""
    from tests.export.test_text_model import SEQ as TEXT_SEQ
    from tests.export.test_text_model import tiny_config
    from tfcompress.models import Encoder, build_classifier

    return build_classifier(Encoder(tiny_config()), 3, sequence_length=TEXT_SEQ)


@pytest.fixture(scope="module")
def trained_classifier(tokenizer):
    from tests.export.test_text_model import train_text_classifier

    return train_text_classifier(tokenizer)
