import pytest

from tfcompress.errors import ConfigError
from tfcompress.models import EncoderConfig


def test_from_dict_roundtrip():
    config = EncoderConfig.from_dict(
        {
            "vocab_size": 10,
            "hidden_size": 8,
            "num_heads": 2,
            "layer_plan": [[0, False], [0, True]],
            "num_layers": 1,
        }
    )
    assert config.plan == [(0, False), (0, True)] and config.num_executed_layers == 2
    assert EncoderConfig.from_dict(config.to_dict()) == config


@pytest.mark.parametrize(
    "values, key",
    [
        ({"vocab_size": 10, "hidden_sise": 8}, "encoder.hidden_sise"),
        ({"hidden_size": 8}, "encoder.vocab_size"),
        ({"vocab_size": 10, "hidden_size": 10, "num_heads": 4}, "num_heads"),
        ({"vocab_size": 10, "hidden_act": "swish9"}, "hidden_act"),
        ({"vocab_size": 10, "embedding_dim": 999}, "embedding_dim"),
        ({"vocab_size": 10, "dropout": 1.5}, "dropout"),
        ({"vocab_size": -1}, "vocab_size"),
        ({"vocab_size": 10, "num_layers": 2, "layer_plan": [[0, False]]}, "layer_plan"),
        ({"vocab_size": 10, "num_layers": 1, "layer_plan": [[3, False]]}, "layer_plan"),
    ],
)
def test_errors_name_the_key(values, key):
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        EncoderConfig.from_dict(values)


@pytest.mark.parametrize(
    "values, needle",
    [
        ({"second_vocab_size": 100}, "second_embedding_dim"),
        ({"second_vocab_size": 0, "second_embedding_dim": 8}, "second_vocab_size"),
        (
            {"second_vocab_size": 100, "second_embedding_dim": 8, "embedding_dim": 16},
            "embedding_dim",
        ),
    ],
)
def test_second_vocabulary_settings_are_checked(values, needle):
    with pytest.raises(ConfigError, match=needle):
        EncoderConfig(vocab_size=50, hidden_size=32, num_heads=4, **values)


def test_second_vocabulary_extends_the_id_space():
    config = EncoderConfig(vocab_size=50, second_vocab_size=20, second_embedding_dim=8)
    assert config.total_vocab_size == 70
    assert EncoderConfig.from_dict(config.to_dict()) == config
