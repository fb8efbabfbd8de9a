import numpy as np

from tests.layers.helpers import assert_config_roundtrip, assert_saved_model_identical, wrap
from tfcompress.layers import BertEmbeddings, UniformQuantizer

IDS = np.array([[1, 2, 3, 0], [4, 4, 0, 0]], "int32")
SEGMENTS = np.array([[0, 0, 1, 1], [0, 1, 1, 1]], "int32")


def _layer_norm(x):
    return (x - x.mean(-1, keepdims=True)) / np.sqrt(x.var(-1, keepdims=True) + 1e-12)


def test_sum_of_three_tables_then_layer_norm():
    layer = BertEmbeddings(10, 8, 6, dropout=0.0)
    out = layer(IDS, SEGMENTS).numpy()
    expected = (
        layer.word_embeddings.numpy()[IDS]
        + layer.position_embeddings.numpy()[:4]
        + layer.segment_embeddings.numpy()[SEGMENTS]
    )
    np.testing.assert_allclose(out, _layer_norm(expected), atol=1e-4)


def test_narrow_embeddings_use_trainable_up_projection():
    layer = BertEmbeddings(10, 8, 6, embedding_dim=3, dropout=0.0)
    out = layer(IDS, SEGMENTS)
    assert out.shape == (2, 4, 8)
    assert layer.word_embeddings.shape == (10, 3)
    assert layer.projection.kernel.shape == (3, 8) and layer.projection.kernel.trainable
    projected = layer.word_embeddings.numpy()[IDS] @ layer.projection.kernel.numpy()
    projected += layer.projection.bias.numpy()
    expected = projected + layer.position_embeddings.numpy()[:4]
    expected += layer.segment_embeddings.numpy()[SEGMENTS]
    np.testing.assert_allclose(out.numpy(), _layer_norm(expected), atol=1e-4)


def test_embedding_quantizer_touches_word_table_only():
    layer = BertEmbeddings(10, 8, 6, embedding_quantizer=UniformQuantizer(2, 0.01))
    layer(IDS, SEGMENTS)
    table = layer.word_table().numpy()
    assert set(np.unique(np.round(table / 0.01, 4))) <= {-1.0, 0.0, 1.0}
    assert len(np.unique(layer.position_embeddings.numpy())) > 3


def test_config_and_save_load(tmp_path):
    layer = BertEmbeddings(10, 8, 6, embedding_dim=4)
    assert_config_roundtrip(layer)
    model = wrap(layer, (4,), (4,), dtypes=["int32", "int32"])
    assert_saved_model_identical(model, [IDS, SEGMENTS], tmp_path)


def test_second_vocabulary_ids_read_the_projected_second_table(tmp_path):
    layer = BertEmbeddings(10, 8, 6, dropout=0.0, second_vocab_size=5, second_embedding_dim=3)
    ids = np.array([[1, 10, 14, 2]], "int32")  # 10 and 14: rows 0 and 4 of the second table
    out = layer(ids, np.zeros_like(ids)).numpy()
    second = layer.second_word_embeddings.numpy() @ layer.second_projection.kernel.numpy()
    second += layer.second_projection.bias.numpy()
    words = np.stack(
        [layer.word_embeddings.numpy()[1], second[0], second[4], layer.word_embeddings.numpy()[2]]
    )
    expected = words + layer.position_embeddings.numpy()[:4] + layer.segment_embeddings.numpy()[0]
    np.testing.assert_allclose(out[0], _layer_norm(expected), atol=1e-4)
    # The decoder sees both vocabularies at the hidden width, first table first.
    table = layer.output_table().numpy()
    assert table.shape == (15, 8)
    np.testing.assert_allclose(table[10:], second, atol=1e-6)
    assert_config_roundtrip(layer)
    model = wrap(layer, (4,), (4,), dtypes=["int32", "int32"])
    assert_saved_model_identical(model, [ids, np.zeros_like(ids)], tmp_path)
