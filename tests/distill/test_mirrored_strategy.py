import json
import subprocess
import sys
from pathlib import Path


def test_mirrored_two_devices_matches_single_device():
    script = Path(__file__).with_name("mirrored_check.py")
    result = subprocess.run(
        [sys.executable, str(script)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert result.returncode == 0, result.stderr[-2000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["replicas"] == 2
    assert report["max_weight_diff"] < 1e-4, report
    assert abs(report["loss_single"][0] - report["loss_mirrored"][0]) < 1e-4
    assert report["loss_single"][1] < report["loss_single"][0]  # it did train
