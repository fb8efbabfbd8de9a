"""SIGKILL a real `tfcompress` process during training, the teacher-cache build and an
export, then rerun the same command: nothing is lost, nothing half-written is ever read.

Resumed training must end exactly where an uninterrupted run of the same seed ends (the
tolerance is 0): the epoch backup restores weights, optimizer and dropout-generator states
bit for bit, each epoch's data order is a function of (seed, epoch), and TensorFlow's CPU
kernels reduce in a fixed order for a fixed thread count.
"""

import json
import random
import shutil
import signal
import subprocess
import sys
import time

import keras
import numpy as np
import pytest
import yaml

from tests.training.helpers import tiny_values
from tfcompress.distill.teacher_cache import TeacherCache
from tfcompress.training import run_finetune
from tfcompress.training.finetune_config import finetune_config_from_dict


def _command(*argv):
    return [sys.executable, "-m", "tfcompress.cli", *argv]


def _kill_when(argv, ready, delay, timeout=300):
    """Starts `argv`, waits until `ready()` (or the process ends), waits `delay` seconds,
    SIGKILLs it; returns whether it was still running when killed."""
    process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + timeout
    while not ready() and process.poll() is None:
        assert time.monotonic() < deadline, "the command never reached the kill point"
        time.sleep(0.05)
    time.sleep(delay)
    alive = process.poll() is None
    process.send_signal(signal.SIGKILL)
    process.wait()
    return alive


def _finish(argv):
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _recipe(tmp_path, values):
    path = tmp_path / f"{values['output_dir'].replace('/', '_')}.yaml"
    path.write_text(yaml.safe_dump(values))
    return str(path)


def _metrics(run):
    return json.loads((run / "metrics.json").read_text())


def test_training_killed_at_a_random_step_resumes_to_the_same_result(tmp_path):
    values = tiny_values(tmp_path / "killed", training__epochs=4)
    reference = run_finetune(
        finetune_config_from_dict(tiny_values(tmp_path / "reference", training__epochs=4)),
        verbose=0,
    )
    argv = _command("finetune", "--config", _recipe(tmp_path, values))
    killed = tmp_path / "killed"
    # After the first epoch's backup, somewhere in the next one or two epochs; sooner if a
    # loaded machine let it finish first.
    for delay in (random.uniform(0.0, 1.5), 0.3, 0.0):
        shutil.rmtree(killed, ignore_errors=True)
        if _kill_when(argv, (killed / "backup" / "state.json").is_file, delay) and not (
            killed / "metrics.json"
        ).exists():
            break
    else:
        pytest.fail("training finished before every kill: nothing was resumed")
    _finish(argv)
    resumed = _metrics(killed)
    assert resumed["train"]["epochs_this_session"] < 4  # it did resume
    assert resumed["eval"] == reference["eval"]
    assert resumed["train"]["final_loss"] == pytest.approx(reference["train"]["final_loss"], abs=0)
    weights = [
        keras.models.load_model(run / "model.keras", safe_mode=True).get_weights()
        for run in (killed, tmp_path / "reference")
    ]
    assert all(np.array_equal(a, b) for a, b in zip(*weights, strict=True))  # bit for bit
    epochs = [
        row.split(",")[0] for row in (tmp_path / "killed" / "history.csv").read_text().split()
    ]
    assert epochs[1:] == ["0", "1", "2", "3"]  # each epoch once, none lost or repeated


def test_teacher_cache_killed_mid_build_is_rebuilt_never_read_half_written(tmp_path, finished_run):
    teacher = tmp_path / "teacher"
    shutil.copytree(finished_run[0], teacher)
    shutil.rmtree(teacher / "distill_cache", ignore_errors=True)  # other tests' students
    values = tiny_values(tmp_path / "student", training__epochs=1)
    values["teacher"] = str(teacher)
    values["student"] = {"num_layers": 1}
    del values["model"]
    argv = _command("distill", "--config", _recipe(tmp_path, values))
    cache_root = teacher / "distill_cache"
    assert _kill_when(argv, cache_root.is_dir, delay=random.uniform(0.0, 0.3))
    for entry in cache_root.iterdir() if cache_root.is_dir() else ():
        if not entry.name.startswith("."):  # under its final name: complete
            meta = json.loads((entry / "meta.json").read_text())
            assert all((entry / f"{name}.npy").is_file() for name in meta["fields"])
    _finish(argv)
    (cache,) = [e for e in cache_root.iterdir() if not e.name.startswith(".")]
    assert TeacherCache(cache).num_examples == 96
    assert _metrics(tmp_path / "student")["train"]["examples"] == 96


def test_export_killed_midway_leaves_no_partial_file_under_a_final_name(tmp_path, finished_run):
    run = tmp_path / "run"
    shutil.copytree(finished_run[0], run)
    shutil.rmtree(run / "export", ignore_errors=True)
    argv = _command(
        "export", str(run), "--mode", "float", "int8", "--verify-examples", "8", "--no-timing"
    )
    assert _kill_when(argv, (run / "export").is_dir, delay=random.uniform(0.0, 2.0))
    from ai_edge_litert.interpreter import Interpreter

    for path in (run / "export").glob("*.tflite"):
        Interpreter(model_content=path.read_bytes()).allocate_tensors()  # complete
    for path in (run / "export").glob("*.json"):
        json.loads(path.read_text())  # complete
    _finish(argv)
    reports = {p.stem: json.loads(p.read_text()) for p in (run / "export").glob("*.json")}
    assert set(reports) == {"float", "int8"} and all(
        r["parity"]["passed"] for r in reports.values()
    )
