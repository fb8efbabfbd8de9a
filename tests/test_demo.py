"""The main job, at its --quick size."""

import json

from tfcompress.cli import main


def test_demo_quick_runs_teacher_then_sps_student(tmp_path, capsys):
    out = tmp_path / "demo"
    assert main(["demo", "--quick", "--output-dir", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "SPS student" in printed and "eval slot_f1" in printed
    teacher = json.loads((out / "teacher" / "metrics.json").read_text())
    student = json.loads((out / "student" / "metrics.json").read_text())
    assert student["model"]["executed_layers"] == 4
    assert student["model"]["parameters"] < 0.75 * teacher["model"]["parameters"]
    assert student["teacher"]["eval"] == teacher["eval"]
    # Re-running reuses both finished stages instead of training again.
    before = (out / "student" / "model.keras").stat().st_mtime_ns
    assert main(["demo", "--quick", "--output-dir", str(out)]) == 0
    assert (out / "student" / "model.keras").stat().st_mtime_ns == before
