import pytest

from tfcompress.errors import ConfigError
from tfcompress.run_directory import RunDirectory


def test_fresh_directory_writes_nothing_until_start(tmp_path):
    run = RunDirectory(tmp_path / "run")
    assert run.check_can_start({"a": 1}) is False
    assert not run.path.exists()
    run.start({"a": 1})
    assert run.config_path.read_text() == "a: 1\n"


def test_finished_run_is_protected(tmp_path):
    run = RunDirectory(tmp_path / "run")
    run.start({"a": 1})
    run.finish({"eval": {}})
    with pytest.raises(ConfigError, match="already holds a finished run"):
        run.check_can_start({"a": 1})
    assert run.check_can_start({"a": 1}, overwrite=True) is False


def test_interrupted_run_resumes_only_with_same_config(tmp_path):
    run = RunDirectory(tmp_path / "run")
    run.start({"a": 1})
    run.backup_dir.mkdir()
    (run.backup_dir / "training_metadata.json").write_text("{}")
    assert run.is_interrupted
    assert run.check_can_start({"a": 1}) is True
    with pytest.raises(ConfigError, match="interrupted run with a different config"):
        run.check_can_start({"a": 2})
    run.finish({"eval": {}})
    assert not run.backup_dir.exists() and run.is_finished


def test_an_option_added_at_its_none_default_does_not_block_a_resume(tmp_path):
    run = RunDirectory(tmp_path / "run")
    run.start({"data": {"format": "intent_slot"}})
    run.backup_dir.mkdir()
    (run.backup_dir / "training_metadata.json").write_text("{}")
    assert run.check_can_start({"data": {"format": "intent_slot", "slot_swap": None}}) is True
    with pytest.raises(ConfigError, match="interrupted run with a different config"):
        run.check_can_start({"data": {"format": "intent_slot", "slot_swap": {"copies": 1}}})
