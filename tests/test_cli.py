"""The CLI: user errors are one line without a traceback, exit non-zero, and never damage
earlier outputs."""

import hashlib

import pytest
import yaml

from tests.training.helpers import SENTIMENT_ROWS, tiny_values, write_sst2_like
from tfcompress.cli import main


def _digest(directory):
    return {
        p.relative_to(directory): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(directory.rglob("*"))
        if p.is_file()
    }


def _run_cli(capsys, *argv):
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.err.strip()


def _config_file(tmp_path, values):
    path = tmp_path / "recipe.yaml"
    path.write_text(yaml.safe_dump(values))
    return str(path)


def _assert_one_line_error(code, err, *needles):
    assert code == 2
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    for needle in needles:
        assert needle in err, err


@pytest.fixture
def protected_run(finished_run, tmp_path):
    """A finished run, and a check that a failing --overwrite leaves it byte-identical."""
    out, _ = finished_run
    before = _digest(out)
    yield out
    assert _digest(out) == before


def test_bad_config_key(tmp_path, capsys, protected_run):
    values = tiny_values(protected_run, training__epocs=3)
    code, err = _run_cli(
        capsys, "finetune", "--config", _config_file(tmp_path, values), "--overwrite"
    )
    _assert_one_line_error(code, err, "config.training.epocs", "unknown key")


def test_missing_teacher_path(tmp_path, capsys, protected_run):
    values = tiny_values(protected_run)
    values["model"] = {"checkpoint": str(tmp_path / "no-teacher"), "sequence_length": 24}
    code, err = _run_cli(
        capsys, "finetune", "--config", _config_file(tmp_path, values), "--overwrite"
    )
    _assert_one_line_error(code, err, "no-teacher", "does not exist")


def test_wrong_vocab_file(tmp_path, capsys, protected_run):
    vocab = tmp_path / "vocab.txt"
    vocab.write_text("hello\nworld\n[UNK]\n")
    values = tiny_values(protected_run)
    values["model"]["vocab"] = str(vocab)
    del values["model"]["learn_vocab_size"]
    code, err = _run_cli(
        capsys, "finetune", "--config", _config_file(tmp_path, values), "--overwrite"
    )
    _assert_one_line_error(code, err, "vocab.txt", "[PAD]")


def test_malformed_tsv_names_file_and_line(tmp_path, capsys, protected_run):
    train = write_sst2_like(tmp_path / "train.tsv", SENTIMENT_ROWS[:4])
    with train.open("a") as f:
        f.write("this row has no label column\n")
    values = tiny_values(
        protected_run,
        task="classification",
        data={"format": "glue", "glue_task": "sst2", "train": str(train), "eval": str(train)},
    )
    code, err = _run_cli(
        capsys, "finetune", "--config", _config_file(tmp_path, values), "--overwrite"
    )
    _assert_one_line_error(code, err, "train.tsv:6")


def test_finished_run_is_not_clobbered_without_overwrite(tmp_path, capsys, protected_run):
    code, err = _run_cli(
        capsys, "finetune", "--config", _config_file(tmp_path, tiny_values(protected_run))
    )
    _assert_one_line_error(code, err, "already holds a finished run", "--overwrite")


def test_missing_config_file(capsys):
    code, err = _run_cli(capsys, "finetune", "--config", "/nonexistent/recipe.yaml")
    _assert_one_line_error(code, err, "/nonexistent/recipe.yaml", "does not exist")


def test_bad_set_override(tmp_path, capsys):
    code, err = _run_cli(
        capsys,
        "finetune",
        "--config",
        _config_file(tmp_path, tiny_values(tmp_path / "r")),
        "--set",
        "epochs",
    )
    _assert_one_line_error(code, err, "KEY=VALUE")
