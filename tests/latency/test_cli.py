"""run_cli through mobile_eval/host_runner.py: a report written as JSON, and a user error
printed as one line with exit status 2."""

import json
import subprocess
import sys

from tests.latency.helpers import REPO, check_schema, load_script


def test_host_runner_writes_json(tiny_tflite, tmp_path, capsys):
    host_runner = load_script("mobile_eval/host_runner.py")
    out = tmp_path / "reports" / "host.json"
    argv = [str(tiny_tflite), "--threads", "1", "2", "--runs", "3", "--warmup", "1"]
    assert host_runner.main([*argv, "--output", str(out)]) == 0
    report = json.loads(out.read_text())
    check_schema(report, "litert")
    assert [r["threads"] for r in report["results"]] == [1, 2]
    assert "p99" in capsys.readouterr().out


def test_host_runner_bad_path_is_one_line(tmp_path):
    done = subprocess.run(
        [
            sys.executable,
            str(REPO / "mobile_eval" / "host_runner.py"),
            str(tmp_path / "nope.tflite"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2
    err = done.stderr.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    assert "nope.tflite" in err and "no such model file" in err
