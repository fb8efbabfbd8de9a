import dataclasses

import keras
import numpy as np
import pytest
import tensorflow as tf

from tests.layers.helpers import assert_saved_model_identical
from tfcompress.layers import UniformQuantizer
from tfcompress.models import Encoder, build_classifier

SPS_PLAN = [(0, False), (1, False), (0, True), (1, True)]


def test_outputs_every_hidden_state_and_attention(tiny_config, tiny_inputs):
    out = Encoder(tiny_config)(tiny_inputs)
    assert out["sequence_output"].shape == (2, 8, 32)
    assert out["pooled_output"].shape == (2, 32)
    assert len(out["hidden_states"]) == 3 and len(out["attention_probs"]) == 2
    assert len(out["attention_scores"]) == 2
    assert out["attention_probs"][0].shape == (2, 4, 8, 8)
    np.testing.assert_array_equal(out["hidden_states"][-1], out["sequence_output"])
    # padded keys of example 1 get no attention
    assert np.all(out["attention_probs"][1].numpy()[1, :, :, 5:] == 0)


def test_padding_does_not_change_real_tokens(tiny_config, tiny_inputs):
    encoder = Encoder(tiny_config)
    short = {k: v[1:, :5] for k, v in tiny_inputs.items()}
    padded = {k: v[1:] for k, v in tiny_inputs.items()}
    a = encoder(short)["sequence_output"].numpy()
    b = encoder(padded)["sequence_output"].numpy()[:, :5]
    np.testing.assert_allclose(a, b, atol=1e-5)


def test_sps_plan_keeps_parameter_count_and_swaps_kernels(tiny_config, tiny_inputs):
    base = Encoder(tiny_config)
    shared = Encoder(dataclasses.replace(tiny_config, layer_plan=SPS_PLAN))
    base.build()
    shared.build()
    assert shared.count_params() == base.count_params()
    out = shared(tiny_inputs)
    assert len(out["hidden_states"]) == 5 and len(out["attention_probs"]) == 4
    for top, bottom in ((2, 0), (3, 1)):
        reused = shared.executed_blocks[top].attention
        original = shared.blocks[bottom].attention
        assert reused.query_dense.share_from is original.key_dense
        assert reused.key_dense.share_from is original.query_dense
        assert reused.value_dense.share_from is original.value_dense


def test_plain_reuse_runs_same_block_twice(tiny_config, tiny_inputs):
    shared = Encoder(dataclasses.replace(tiny_config, num_layers=1, layer_plan=[(0, 0), (0, 0)]))
    out = shared(tiny_inputs)
    block = shared.blocks[0]
    assert shared.executed_blocks[0] is block
    assert shared.executed_blocks[1].share_from is block
    single = Encoder(dataclasses.replace(tiny_config, num_layers=1))
    single.build()
    assert shared.count_params() == single.count_params()
    bias = (1.0 - tiny_inputs["padding_mask"][:, None, None, :].astype("float32")) * -1e4
    again = block(out["hidden_states"][1], attention_bias=bias)[0]
    np.testing.assert_allclose(again.numpy(), out["hidden_states"][2].numpy(), atol=1e-5)


def test_quantizers_change_outputs_identity_does_not(tiny_config, tiny_inputs):
    plain = Encoder(tiny_config)
    plain.build()
    expected = plain(tiny_inputs)["sequence_output"].numpy()

    def with_weights_of_plain(**quantizers):
        encoder = Encoder(tiny_config, **quantizers)
        encoder.build()
        encoder.set_weights(plain.get_weights())
        return encoder(tiny_inputs)["sequence_output"].numpy()

    np.testing.assert_array_equal(with_weights_of_plain(), expected)
    for slot in ("weight_quantizer", "activation_quantizer", "embedding_quantizer"):
        quantized = with_weights_of_plain(**{slot: UniformQuantizer(2, 0.05)})
        assert np.abs(quantized - expected).max() > 1e-3, slot


def test_each_slot_gets_its_own_quantizer(tiny_config):
    encoder = Encoder(tiny_config, weight_quantizer=UniformQuantizer(4, 1.0))
    a = encoder.blocks[0].attention
    assert a.query_dense.kernel_quantizer is not a.key_dense.kernel_quantizer
    assert isinstance(encoder.blocks[1].output_dense.kernel_quantizer, UniformQuantizer)


def test_narrow_embeddings(tiny_config, tiny_inputs):
    encoder = Encoder(dataclasses.replace(tiny_config, embedding_dim=8))
    out = encoder(tiny_inputs)
    assert out["sequence_output"].shape == (2, 8, 32)
    assert encoder.embeddings.word_embeddings.shape == (50, 8)
    full = Encoder(tiny_config)
    full.build()
    assert encoder.count_params() == full.count_params() - 50 * 24 + 8 * 32 + 32


def test_static_shapes_at_export(tiny_config):
    model = build_classifier(Encoder(tiny_config), 3, sequence_length=8)
    spec = {n: tf.TensorSpec((1, 8), tf.int32, name=n) for n in model.input}
    graph = tf.function(lambda x: model(x, training=False)).get_concrete_function(spec).graph
    dynamic = [
        op.name for op in graph.get_operations() if op.type in ("Shape", "DynamicStitch", "Where")
    ]
    assert not dynamic, dynamic
    assert graph.outputs[0].shape == (1, 3)


def test_sps_model_save_load_identical(tiny_config, tiny_inputs, tmp_path):
    config = dataclasses.replace(tiny_config, layer_plan=SPS_PLAN)
    model = build_classifier(Encoder(config, activation_quantizer=UniformQuantizer(8, 4.0)), 3)
    loaded = assert_saved_model_identical(model, tiny_inputs, tmp_path)
    encoder = loaded.encoder
    assert encoder.config.layer_plan == SPS_PLAN
    reused = encoder.executed_blocks[2].attention
    assert reused.query_dense.kernel is encoder.blocks[0].attention.key_dense.kernel
    assert loaded.count_params() == model.count_params()


def test_encoder_config_roundtrip(tiny_config):
    encoder = Encoder(dataclasses.replace(tiny_config, layer_plan=SPS_PLAN))
    clone = Encoder.from_config(encoder.get_config())
    assert clone.config == encoder.config


def test_trains_under_fit(tiny_config, tiny_inputs):
    model = build_classifier(Encoder(tiny_config), 2)
    model.compile(
        keras.optimizers.Adam(1e-2),
        keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    labels = np.array([0, 1])
    history = model.fit(tiny_inputs, labels, epochs=15, verbose=0)
    assert history.history["loss"][-1] < 0.5 * history.history["loss"][0]


@pytest.mark.parametrize("bad", [{"hidden_size": 30}, {"layer_plan": [(0, True), (1, False)]}])
def test_bad_dimensions_rejected(tiny_config, bad):
    from tfcompress.errors import ConfigError

    with pytest.raises(ConfigError):
        dataclasses.replace(tiny_config, **bad)


def test_mean_pooling_averages_real_tokens_and_owns_no_pooler(tiny_config, tiny_inputs, tmp_path):
    config = dataclasses.replace(tiny_config, pooling="mean")
    encoder = Encoder(config)
    outputs = encoder(tiny_inputs)
    mask = tiny_inputs["padding_mask"].astype("float32")[:, :, None]
    sequence = np.asarray(outputs["sequence_output"])
    expected = (sequence * mask).sum(1) / mask.sum(1)
    np.testing.assert_allclose(outputs["pooled_output"], expected, atol=1e-6)
    assert encoder.pooler is None and not any("pooler" in v.path for v in encoder.weights)
    cls_encoder = Encoder(tiny_config)
    cls_encoder.build()
    assert encoder.count_params() == cls_encoder.count_params() - (32 * 32 + 32)
    model = build_classifier(Encoder(config), 2)
    loaded = assert_saved_model_identical(model, tiny_inputs, tmp_path)
    assert loaded.encoder.config.pooling == "mean"
