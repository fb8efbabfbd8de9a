import pytest

from tests.training.helpers import tiny_values
from tfcompress.errors import ConfigError
from tfcompress.training import finetune_config_from_dict, load_finetune_config


def test_valid_config_and_defaults(tmp_path):
    config = finetune_config_from_dict(tiny_values(tmp_path / "r"))
    assert config.training.epochs == 2 and config.training.weight_decay == 0.01
    assert config.model.encoder["hidden_size"] == 32


@pytest.mark.parametrize(
    "changes, key",
    [
        ({"trainin__epochs": 1}, "config.trainin"),
        ({"training__epochs": "three"}, "config.training.epochs"),
        ({"training__learning_rate": 5}, "config.training.learning_rate"),
        ({"task": "regression"}, "config.task"),
        ({"data__format": "csv"}, "config.data.format"),
        ({"model__checkpoint": "/x", "model__learn_vocab_size": None}, "config.model.checkpoint"),
        ({"model__sequence_length": 4}, "config.model.sequence_length"),
    ],
)
def test_errors_name_the_key(tmp_path, changes, key):
    values = tiny_values(tmp_path / "r", **changes)
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        finetune_config_from_dict(values)


def test_required_keys(tmp_path):
    values = tiny_values(tmp_path / "r")
    del values["task"]
    with pytest.raises(ConfigError, match=r"config\.task: required"):
        finetune_config_from_dict(values)
    values = tiny_values(tmp_path / "r", data__format="glue", data__glue_task="sst2")
    with pytest.raises(ConfigError, match=r"config\.data\.train: required"):
        finetune_config_from_dict(values)


def test_yaml_file_errors_and_overrides(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError, match="does not exist"):
        load_finetune_config(tmp_path / "nope.yaml")
    broken = tmp_path / "broken.yaml"
    broken.write_text("task: intent_slot\ndata: [unclosed\n")
    with pytest.raises(ConfigError, match=r"broken\.yaml:\d+: not valid YAML"):
        load_finetune_config(broken)
    import yaml

    good = tmp_path / "good.yaml"
    good.write_text(yaml.safe_dump(tiny_values("runs/x")))
    config = load_finetune_config(good, {"training.epochs": 7})
    assert config.training.epochs == 7
    assert config.output_dir == str(tmp_path / "runs" / "x")  # resolved against the cwd


def test_pooling_is_checked_and_reaches_the_encoder(tmp_path):
    from tfcompress.training.finetune import build_encoder

    config = finetune_config_from_dict(tiny_values(tmp_path / "r", model__pooling="mean"))
    assert build_encoder(config.model, 300).config.pooling == "mean"
    with pytest.raises(ConfigError, match=r"config\.model\.pooling: 'max' unknown"):
        finetune_config_from_dict(tiny_values(tmp_path / "r", model__pooling="max"))
    with pytest.raises(ConfigError, match=r"encoder\.pooling: .*model\.pooling"):
        finetune_config_from_dict(tiny_values(tmp_path / "r", model__encoder__pooling="mean"))
