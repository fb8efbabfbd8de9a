"""Mixed precision: every sublayer computes in its owner's dtype policy, variables stay float32.

A sublayer built without `dtype=self.dtype_policy` silently takes the *global* policy. Each test
therefore builds or reloads under a global policy different from the layer's own, so such a
sublayer shows up as float32 here.
"""

import keras
import numpy as np
import pytest

from tests.conftest import tiny_encoder_config
from tfcompress.layers import (
    ClassificationHead,
    JointIntentSlotHead,
    MaskedLMHead,
    TokenTaggingHead,
    UniformQuantizer,
)
from tfcompress.models import Encoder, MaskedLMModel, build_classifier

MIXED = "mixed_bfloat16"
SPS_PLAN = [(0, False), (1, False), (0, True), (1, True)]


@pytest.fixture
def global_float32():
    keras.mixed_precision.set_dtype_policy("float32")
    yield
    keras.mixed_precision.set_dtype_policy("float32")


@pytest.fixture
def global_mixed_bfloat16():
    keras.mixed_precision.set_dtype_policy(MIXED)
    try:
        yield
    finally:
        keras.mixed_precision.set_dtype_policy("float32")


def _inputs(batch=2, length=8, seed=0):
    rng = np.random.default_rng(seed)
    mask = np.ones((batch, length), "int32")
    mask[1::2, length - 3 :] = 0
    return {
        "token_ids": rng.integers(1, 50, (batch, length)).astype("int32") * mask,
        "segment_ids": np.zeros((batch, length), "int32"),
        "padding_mask": mask,
    }


def _assert_policy_everywhere(layer, policy=MIXED):
    """Every nested layer has `policy`, except the attention softmax (float32 by design)."""
    seen = 0
    for sublayer in layer._flatten_layers(include_self=True):
        seen += 1
        if sublayer.name.startswith("attention_softmax"):
            assert sublayer.compute_dtype == "float32", sublayer.name
            continue
        assert sublayer.dtype_policy.name == policy, f"{sublayer.name}: {sublayer.dtype_policy}"
    assert seen > 1
    for weight in layer.weights:
        assert weight.dtype == "float32", weight.path


def _deep_sublayers(encoder):
    """Named sublayers from every level of the encoder, for readable failures."""
    block = encoder.blocks[-1]
    return {
        "embeddings.layer_norm": encoder.embeddings.layer_norm,
        "embeddings.dropout": encoder.embeddings.dropout,
        "attention": block.attention,
        "attention.query_dense": block.attention.query_dense,
        "attention.key_dense": block.attention.key_dense,
        "attention.value_dense": block.attention.value_dense,
        "attention.output_dense": block.attention.output_dense,
        "attention.dropout": block.attention.dropout,
        "ffn.intermediate_dense": block.intermediate_dense,
        "ffn.output_dense": block.output_dense,
        "attention_layer_norm": block.attention_layer_norm,
        "output_layer_norm": block.output_layer_norm,
        "pooler": encoder.pooler,
    }


def test_encoder_passes_its_policy_to_every_sublayer(global_float32):
    # Narrow embeddings (an up-projection), SPS views and quantizers: every construction path.
    config = tiny_encoder_config(embedding_dim=16, layer_plan=SPS_PLAN)
    encoder = Encoder(
        config,
        weight_quantizer=UniformQuantizer(8, 1.0),
        activation_quantizer=UniformQuantizer(8, 8.0),
        embedding_quantizer=UniformQuantizer(8, 1.0),
        dtype=MIXED,
    )
    encoder.build()
    _assert_policy_everywhere(encoder)
    for name, sublayer in _deep_sublayers(encoder).items():
        assert sublayer.compute_dtype == "bfloat16", name
    assert encoder.embeddings.projection.compute_dtype == "bfloat16"
    assert encoder.executed_blocks[2].attention.softmax.compute_dtype == "float32"
    out = encoder(_inputs(), training=True)
    assert out["sequence_output"].dtype == "bfloat16"
    assert all(np.isfinite(np.asarray(h, "float32")).all() for h in out["hidden_states"])


@pytest.mark.parametrize(
    "make_head",
    [
        lambda dtype: ClassificationHead(3, dtype=dtype),
        lambda dtype: TokenTaggingHead(3, dtype=dtype),
        lambda dtype: JointIntentSlotHead(3, 4, dtype=dtype),
        lambda dtype: MaskedLMHead(50, 32, dtype=dtype),
    ],
    ids=["classification", "tagging", "intent_slot", "masked_lm"],
)
def test_heads_pass_their_policy_to_every_sublayer(global_float32, make_head):
    _assert_policy_everywhere(make_head(MIXED))


def test_masked_lm_model_passes_its_policy_to_the_head(global_float32):
    model = MaskedLMModel(Encoder(tiny_encoder_config(embedding_dim=16), dtype=MIXED), dtype=MIXED)
    inputs = dict(_inputs(), mask_positions=np.array([[1, 2], [0, 3]], "int32"))
    logits = model(inputs)
    assert logits.shape == (2, 2, 50) and logits.dtype == "bfloat16"
    _assert_policy_everywhere(model.mlm_head)


def test_mixed_attention_stays_a_masked_distribution_close_to_float32(global_float32):
    inputs = _inputs()
    mixed = Encoder(tiny_encoder_config(), dtype=MIXED)
    exact = Encoder(tiny_encoder_config())
    mixed.build()
    exact.build()
    exact.set_weights(mixed.get_weights())
    mixed_out, exact_out = mixed(inputs), exact(inputs)
    for probs in mixed_out["attention_probs"]:
        probs = np.asarray(probs, "float32")
        np.testing.assert_allclose(probs.sum(-1), 1.0, atol=1e-2)
        assert np.all(probs[1, :, :, 5:] == 0)
    np.testing.assert_allclose(
        np.asarray(mixed_out["sequence_output"], "float32"),
        exact_out["sequence_output"].numpy(),
        atol=0.1,
    )


def test_bfloat16_classifier_trains_and_reloads(global_mixed_bfloat16, tmp_path):
    keras.utils.set_random_seed(0)
    model = build_classifier(Encoder(tiny_encoder_config()), 2)
    encoder = model.encoder
    for name, sublayer in {**_deep_sublayers(encoder), "head.dense": model.head.dense}.items():
        assert sublayer.compute_dtype == "bfloat16", name
        assert sublayer.variable_dtype == "float32", name
    assert encoder.blocks[0].attention.softmax.compute_dtype == "float32"
    assert all(w.dtype == "float32" for w in model.weights)

    # A learnable rule: the label says whether the first real token is in the upper half.
    x = _inputs(batch=32, length=8, seed=1)
    y = (x["token_ids"][:, 0] >= 25).astype("int32")
    model.compile(
        optimizer=keras.optimizers.Adam(3e-3),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    losses = model.fit(x, y, batch_size=8, epochs=6, shuffle=False, verbose=0).history["loss"]
    assert np.all(np.isfinite(losses)), losses
    assert losses[-1] < 0.5 * losses[0], losses
    assert all(w.dtype == "float32" for w in model.weights)

    path = tmp_path / "mixed.keras"
    model.save(path)
    expected = model(x, training=False)
    # Reload under a float32 global policy: sublayers must take the saved policy, not the global.
    keras.mixed_precision.set_dtype_policy("float32")
    loaded = keras.models.load_model(path, safe_mode=True)
    for name, sublayer in _deep_sublayers(loaded.encoder).items():
        assert sublayer.compute_dtype == "bfloat16", name
    _assert_policy_everywhere(loaded.encoder)
    np.testing.assert_array_equal(
        np.asarray(loaded(x, training=False), "float32"), np.asarray(expected, "float32")
    )
