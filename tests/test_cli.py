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


def test_duplicate_vocab_tokens(tmp_path, capsys):
    vocab = tmp_path / "vocab.txt"
    vocab.write_text("[PAD]\n[UNK]\n[CLS]\n[SEP]\nhello\nhello\n")
    values = tiny_values(tmp_path / "r")
    values["model"]["vocab"] = str(vocab)
    del values["model"]["learn_vocab_size"]
    code, err = _run_cli(capsys, "finetune", "--config", _config_file(tmp_path, values))
    _assert_one_line_error(code, err, "vocab.txt", "'hello' more than once")


def test_learned_vocab_too_small(tmp_path, capsys):
    values = tiny_values(tmp_path / "r", model__learn_vocab_size=100)
    code, err = _run_cli(capsys, "finetune", "--config", _config_file(tmp_path, values))
    _assert_one_line_error(code, err, "config.model.learn_vocab_size", ">= 193")


def test_bad_set_yaml_and_float_strings(tmp_path, capsys):
    path = _config_file(tmp_path, tiny_values(tmp_path / "r"))
    code, err = _run_cli(capsys, "finetune", "--config", path, "--set", "training.epochs=[1")
    _assert_one_line_error(code, err, "not valid YAML")
    code, err = _run_cli(
        capsys,
        "finetune",
        "--config",
        path,
        "--set",
        "training.learning_rate=1e-3",
        "--set",
        "training.epochs=zero",
    )
    _assert_one_line_error(code, err, "config.training.epochs: expected int")


def test_overwrite_refuses_a_directory_that_is_not_a_run(tmp_path, capsys):
    precious = tmp_path / "precious"
    precious.mkdir()
    (precious / "notes.txt").write_text("keep me")
    code, err = _run_cli(
        capsys, "finetune", "--config", _config_file(tmp_path, tiny_values(precious)), "--overwrite"
    )
    _assert_one_line_error(code, err, "not a tfcompress run directory")
    assert (precious / "notes.txt").read_text() == "keep me"


def test_checkpoint_vocab_size_mismatch(tmp_path, capsys, tiny_config):
    from tests.models.helpers import write_tiny_checkpoint

    ckpt = tmp_path / "ckpt"
    write_tiny_checkpoint(ckpt, tiny_config)  # config says 50 tokens, vocab.txt has 4
    values = tiny_values(tmp_path / "r")
    values["model"] = {"checkpoint": str(ckpt), "sequence_length": 16}
    code, err = _run_cli(capsys, "finetune", "--config", _config_file(tmp_path, values))
    _assert_one_line_error(code, err, "vocab.txt has 4 tokens", "vocab_size 50")
    (ckpt / "vocab.txt").write_text(
        "\n".join(
            ["[PAD]", "[UNK]", "[CLS]", "[SEP]"]
            + list("abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMN")[:46]
        )
        + "\n"
    )
    values["model"]["sequence_length"] = 64
    code, err = _run_cli(capsys, "finetune", "--config", _config_file(tmp_path, values))
    _assert_one_line_error(code, err, "16 positions", "sequence_length 64")


def test_distill_width_mismatch_is_one_line(finished_run, tmp_path, capsys):
    teacher_dir, _ = finished_run
    values = {
        "task": "intent_slot",
        "output_dir": str(tmp_path / "s"),
        "teacher": str(teacher_dir),
        "data": {"format": "synthetic"},
        "student": {"num_layers": 1, "encoder": {"hidden_size": 16, "num_heads": 2}},
    }
    code, err = _run_cli(capsys, "distill", "--config", _config_file(tmp_path, values))
    _assert_one_line_error(code, err, "cannot initialize", "init: scratch")
    assert not (tmp_path / "s").exists()


@pytest.mark.parametrize(
    "scheme, needles",
    [
        ("1-8-8", ("config.quantization.scheme", "weight bits must be in [2, 8], got 1")),
        ("8-8-9", ("config.quantization.scheme", "activation bits must be in [2, 8], got 9")),
        ("2-8", ("config.quantization.scheme", "not a W-E-A scheme")),
    ],
)
def test_quantize_bad_scheme_is_one_line(finished_run, tmp_path, capsys, scheme, needles):
    source, _ = finished_run
    values = {"source": str(source), "output_dir": str(tmp_path / "q")}
    code, err = _run_cli(
        capsys,
        "quantize",
        "--config",
        _config_file(tmp_path, values),
        "--set",
        f"quantization.scheme={scheme}",
    )
    _assert_one_line_error(code, err, *needles)
    assert not (tmp_path / "q").exists()


def test_quantize_refuses_an_unfinished_source(tmp_path, capsys):
    (tmp_path / "half").mkdir()
    (tmp_path / "half" / "config.yaml").write_text("task: intent_slot\n")
    values = {"source": str(tmp_path / "half"), "output_dir": str(tmp_path / "q")}
    code, err = _run_cli(capsys, "quantize", "--config", _config_file(tmp_path, values))
    _assert_one_line_error(code, err, "source:", "not a finished run")
    assert not (tmp_path / "q").exists()


def test_quantize_refuses_a_model_without_float_slots_and_keeps_the_earlier_run(
    finished_run, tmp_path, capsys
):
    source, _ = finished_run
    first = {
        "source": str(source),
        "output_dir": str(tmp_path / "q"),
        "training": {"epochs": 1, "batch_size": 32},
    }
    assert _run_cli(capsys, "quantize", "--config", _config_file(tmp_path, first))[0] == 0
    before = _digest(tmp_path / "q")
    # The quantized run as a source: its slots are taken, there is nothing left to quantize.
    again = {"source": str(tmp_path / "q"), "output_dir": str(tmp_path / "q"), "method": "lsq"}
    code, err = _run_cli(
        capsys, "quantize", "--config", _config_file(tmp_path, again), "--overwrite"
    )
    _assert_one_line_error(code, err, "already quantized")
    assert _digest(tmp_path / "q") == before


def test_native_log_lines_are_recognized_and_ours_are_not():
    from tfcompress.native_logs import is_native_log_line

    native = [
        b"WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\n",
        b"I0000 00:00:1796443356.864688   13926 port.cc:153] oneDNN custom operations are on.\n",
        b"E0000 00:00:1796438859.015389   18243 cuda_platform.cc:52] failed call to cuInit\n",
        b"To enable the following instructions: AVX2 AVX512F, in other operations, rebuild\n",
        b"INFO: Created TensorFlow Lite XNNPACK delegate for CPU.\n",
        b"fully_quantize: 0, inference_type: 6, input_inference_type: FLOAT32, output_infe\n",
    ]
    ours = [
        b"tfcompress check: error: config file x.yaml does not exist\n",
        b"warning: 1.6% of the train examples are longer than sequence_length 80\n",
        b'  File "/work/tfcompress/cli.py", line 385, in main\n',
        b"Epoch 1/2\n",
        b"ERROR: Didn't find op for builtin opcode 'GELU' version '2'\n",
    ]
    assert all(is_native_log_line(line) for line in native)
    assert not any(is_native_log_line(line) for line in ours)


def test_the_script_hides_tensorflow_start_up_lines(tmp_path):
    import subprocess
    import sys

    recipe = _config_file(tmp_path, tiny_values(tmp_path / "run"))
    command = [sys.executable, "-m", "tfcompress", "check", "--config", recipe]
    quiet = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert quiet.returncode == 0, quiet.stderr[-2000:]
    assert "I0000" not in quiet.stderr and "absl::InitializeLog" not in quiet.stderr
    assert "ok: nothing was written" in quiet.stdout
    # --verbose, after the subcommand too, lets TensorFlow's own lines through.
    loud = subprocess.run([*command, "--verbose"], capture_output=True, text=True, timeout=300)
    assert loud.returncode == 0, loud.stderr[-2000:]
    assert "I0000" in loud.stderr or "absl::InitializeLog" in loud.stderr, loud.stderr[-2000:]
    failing = subprocess.run(
        [*command[:4], "--config", str(tmp_path / "missing.yaml")], capture_output=True, text=True
    )
    assert failing.returncode == 2
    assert failing.stderr.strip().splitlines() == [
        f"tfcompress check: error: config file {tmp_path / 'missing.yaml'} does not exist"
    ]
    version = subprocess.run([sys.executable, "-m", "tfcompress", "--version"], capture_output=True)
    assert version.stdout.decode().startswith("tfcompress 0.")
