"""No network at run time, no code from a loaded file: what a run directory from someone
else can do when tfcompress loads it (README, "Loading runs from others")."""

import ast
import socket
from pathlib import Path

import keras
import pytest

from tests.conftest import NetworkDisabled
from tfcompress.cli import main
from tfcompress.errors import TfcompressError
from tfcompress.tasks import FinishedRun

PACKAGE = Path(__file__).resolve().parents[1] / "tfcompress"


def test_the_suite_runs_with_the_network_disabled():
    # The autouse fixture in conftest.py guards every test, demo/finetune/export included.
    with pytest.raises(NetworkDisabled):
        socket.create_connection(("pypi.org", 443), timeout=1)
    with pytest.raises(NetworkDisabled):
        socket.socket().connect(("93.184.216.34", 80))


def test_every_keras_load_in_the_package_uses_safe_mode():
    calls = []
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "load_model":
                safe = {k.arg: k.value for k in node.keywords}.get("safe_mode")
                if isinstance(node.func.value, ast.Attribute):  # keras.models.load_model
                    calls.append((path.name, getattr(safe, "value", None)))
    assert calls and all(safe is True for _, safe in calls), calls


def _run_whose_model_carries_code(tmp_path, finished_run):
    import shutil

    run = tmp_path / "run"
    shutil.copytree(finished_run[0], run)
    inputs = keras.Input((4,))
    outputs = keras.layers.Lambda(lambda x: x * 2)(inputs)  # arbitrary Python, pickled
    keras.Model(inputs, outputs).save(run / "model.keras")
    return run


def test_a_run_whose_model_carries_code_is_refused(tmp_path, finished_run):
    run = _run_whose_model_carries_code(tmp_path, finished_run)
    with pytest.raises(TfcompressError, match=r"model.keras.*safe_mode"):
        FinishedRun.read(run).load_model()



def test_the_cli_refuses_a_model_that_carries_code_in_one_line(tmp_path, finished_run, capsys):
    run = _run_whose_model_carries_code(tmp_path, finished_run)
    before = sorted(p.name for p in run.iterdir())
    code = main(["export", str(run), "--mode", "float"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and "Traceback" not in err
    assert "model.keras" in err and "safe_mode" in err
    assert sorted(p.name for p in run.iterdir()) == before  # nothing exported
