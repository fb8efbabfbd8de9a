"""`make_strategy` by config: multi-worker runs (one process, and two workers on 127.0.0.1)
match one device; a TPU that is not there is a one-line config error."""

import json
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.distill.test_mirrored_strategy import LOSS_RELATIVE_TOLERANCE, WEIGHT_TOLERANCE
from tests.training.helpers import tiny_values
from tfcompress.distill.strategies import make_strategy
from tfcompress.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]
CHECK = Path(__file__).with_name("multi_worker_check.py")
TPU_ENVIRONMENT = ("TPU_NAME", "KUBE_GOOGLE_CLOUD_TPU_ENDPOINTS", "TPU_CONFIG")


def _environment():
    env = {k: v for k, v in os.environ.items() if k not in TPU_ENVIRONMENT + ("TF_CONFIG",)}
    return {**env, "TF_CPP_MIN_LOG_LEVEL": "3"}


def _free_ports(n):
    sockets = [socket.socket() for _ in range(n)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def _workers(*argvs, timeout=300):
    """Runs multi_worker_check.py once per argv list, all at once; their JSON reports."""
    processes = [
        subprocess.Popen(
            [sys.executable, str(CHECK), *argv],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=ROOT,
            env=_environment(),
        )
        for argv in argvs
    ]
    try:
        outputs = [p.communicate(timeout=timeout) for p in processes]
    finally:
        for p in processes:
            if p.poll() is None:
                p.kill()
                p.communicate()
    for p, (_, stderr) in zip(processes, outputs, strict=True):
        assert p.returncode == 0, stderr[-3000:]
    return [json.loads(stdout.strip().splitlines()[-1]) for stdout, _ in outputs]


def _assert_matches_one_device(report):
    for name, result in report["cases"].items():
        assert result["max_weight_diff"] <= WEIGHT_TOLERANCE, (name, result)
        pairs = zip(result["loss_single"], result["loss_distributed"], strict=True)
        for single, distributed in pairs:
            assert abs(single - distributed) <= LOSS_RELATIVE_TOLERANCE * abs(single), name
        assert result["loss_single"][1] < result["loss_single"][0], name  # it trained


def test_multi_worker_in_one_process_matches_default_strategy():
    # No TF_CONFIG: one local worker, one replica; the same steps as the default strategy.
    (report,) = _workers(["none"])
    assert report["strategy"] == "CollectiveAllReduceStrategy"
    assert report["replicas"] == 1 and report["cluster"] == {} and report["workers"] == 1
    _assert_matches_one_device(report)
    for result in report["cases"].values():
        assert result["max_weight_diff"] == 0.0  # one replica: nothing is reduced


@pytest.mark.slow
def test_two_workers_on_localhost_match_one_device():
    # Two processes, TF_CONFIG with two workers on 127.0.0.1: gradients, the clip norm and
    # token means are reduced across processes, and the uneven last batch splits 3/2.
    ports = ",".join(str(p) for p in _free_ports(2))
    reports = _workers([ports, "0"], [ports, "1"])
    assert [r["task"] for r in reports] == [["worker", 0], ["worker", 1]]
    for report in reports:
        assert report["replicas"] == 2 and report["workers"] == 2
        assert len(report["cluster"]["worker"]) == 2
    _assert_matches_one_device(reports[0])  # worker 0 trained the one-device reference too
    for name, result in reports[1]["cases"].items():  # both workers hold the same model
        assert result["weights_sha256"] == reports[0]["cases"][name]["weights_sha256"], name
        assert result["loss_distributed"] == reports[0]["cases"][name]["loss_distributed"]


def test_tpu_without_a_tpu_is_a_config_error(monkeypatch):
    for name in TPU_ENVIRONMENT:  # never look a TPU up on the network
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(ConfigError, match=r"strategy: tpu: cannot start a TPU with no tpu: name"):
        make_strategy("tpu", None)
    (port,) = _free_ports(1)
    with pytest.raises(ConfigError, match=r"nothing answers there"):
        make_strategy("tpu", f"grpc://127.0.0.1:{port}")


def test_cli_reports_a_missing_tpu_in_one_line(tmp_path):
    # `tpu: local` on a machine without one: TensorFlow fails inside TPU initialization;
    # the command prints one error line, no traceback, before writing anything.
    recipe = tmp_path / "tpu.yaml"
    recipe.write_text(
        "task: intent_slot\n"
        f"output_dir: {tmp_path / 'out'}\n"
        f"teacher: {tmp_path / 'teacher'}\n"
        "data: {format: synthetic, synthetic_train_examples: 8, synthetic_eval_examples: 8}\n"
        "strategy: tpu\n"
        "tpu: local\n"
    )
    result = subprocess.run(
        [sys.executable, "-m", "tfcompress.cli", "distill", "--config", str(recipe)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
        env=_environment(),
    )
    assert result.returncode == 2, result.stderr[-2000:]
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("tfcompress")]
    assert errors == [
        "tfcompress distill: error: strategy: tpu: cannot start a TPU with tpu: 'local' "
        "(TPUs not found in the cluster); set tpu: to a Cloud TPU name, grpc://host:port, "
        "or local on a TPU VM, or use strategy: default | mirrored | multi_worker"
    ]
    assert not (tmp_path / "out").exists()


def test_unknown_strategy():
    with pytest.raises(ConfigError, match="strategy: 'gpu_farm' unknown"):
        make_strategy("gpu_farm")


@pytest.mark.slow
def test_two_worker_distill_writes_the_run_directory_once(tmp_path, finished_run):
    # Both workers run the same recipe (same output_dir, same teacher); only worker 0 (the
    # chief, no `chief` task in TF_CONFIG) may write there. With every worker writing (the
    # chief rule disabled), worker 1 failed on the shared run directory and teacher cache.
    teacher = tmp_path / "teacher"
    shutil.copytree(finished_run[0], teacher)
    shutil.rmtree(teacher / "distill_cache", ignore_errors=True)  # other tests' students
    scratch_root = tmp_path / "tmp"  # where worker 1 writes its throw-away copies
    scratch_root.mkdir()
    values = tiny_values(tmp_path / "student", training__epochs=1, strategy="multi_worker")
    values["teacher"] = str(teacher)
    values["student"] = {"num_layers": 1}
    del values["model"]
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(yaml.safe_dump(values))
    workers = [f"127.0.0.1:{port}" for port in _free_ports(2)]
    processes = []
    for index in range(2):
        tf_config = {"cluster": {"worker": workers}, "task": {"type": "worker", "index": index}}
        processes.append(
            subprocess.Popen(
                [sys.executable, "-m", "tfcompress.cli", "distill", "--config", str(recipe)],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                text=True,
                cwd=ROOT,
                env={
                    **_environment(),
                    "TF_CONFIG": json.dumps(tf_config),
                    "TMPDIR": str(scratch_root),
                },
            )
        )
    errors = [p.communicate(timeout=600)[1] for p in processes]
    assert [p.returncode for p in processes] == [0, 0], [e[-2000:] for e in errors]
    rows = (tmp_path / "student" / "history.csv").read_text().splitlines()
    assert len(rows) == 2  # one header, one epoch: written by one process
    assert json.loads((tmp_path / "student" / "metrics.json").read_text())["train"]["replicas"] == 2
    (cache,) = (teacher / "distill_cache").iterdir()  # one cache, complete (no staging name)
    assert not cache.name.startswith(".")
    assert not list(scratch_root.glob("tfcompress-worker1-*"))  # worker 1 cleaned up
