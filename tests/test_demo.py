"""The main job, at its --quick size."""

import json
import re
from pathlib import Path

import pytest

from tfcompress.cli import main

README = Path(__file__).resolve().parents[1] / "README.md"


def test_demo_quick_runs_teacher_then_sps_student(tmp_path, capsys, monkeypatch):
    out = tmp_path / "demo"
    assert main(["demo", "--quick", "--output-dir", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "SPS student" in printed and "eval slot_f1" in printed
    stages = [line.split(":")[0] for line in printed.splitlines() if line.startswith("[")]
    assert stages == [
        "[1/3] teacher",
        "[2/3] SPS student",
        "[3/3] student → float and int8 TFLite (and int8 strings-in with length buckets)",
    ]
    assert "reused" not in printed
    teacher = json.loads((out / "teacher" / "metrics.json").read_text())
    student = json.loads((out / "student" / "metrics.json").read_text())
    assert student["model"]["executed_layers"] == 4
    assert student["model"]["parameters"] < 0.75 * teacher["model"]["parameters"]
    assert student["teacher"]["eval"] == teacher["eval"]
    # Stage 3: the student on TFLite, parity-checked and timed.
    assert "student on TFLite" in printed and "eval sentences p50 (ms)" in printed
    exports = {
        m: json.loads((out / "student" / "export" / f"{m}.json").read_text())
        for m in ("float", "int8", "int8_text_buckets")
    }
    # Each export is timed on the eval sentences, and the timings are in its report.
    eval_examples = student["eval_examples"]
    for report in exports.values():
        assert report["sentence_latency"]["sentences"] == eval_examples
        assert report["sentence_latency"]["p50_ms"] > 0
    assert exports["int8"]["latency"]["results"][0]["threads"] == 1
    text = exports["int8_text_buckets"]
    assert text["inputs"] == ["text"] and len(text["buckets"]) > 1
    assert set(text["accuracy"]) == set(exports["int8"]["accuracy"])
    assert exports["float"]["parity"]["argmax_agreement"]["intent_logits"] == 1.0
    assert exports["int8"]["parity"]["passed"] is True
    assert exports["int8"]["size_bytes"] < 0.5 * exports["float"]["size_bytes"]
    # The README's FinishedRun example reads the student back with the same metrics.
    block = next(
        b
        for b in re.findall(r"```python\n(.*?)```", README.read_text(), re.S)
        if "FinishedRun" in b
    )
    namespace = {}
    exec(block.replace("runs/demo/student", str(out / "student")), namespace)
    assert namespace["metrics"] == pytest.approx(student["eval"])
    # Re-running reuses both finished stages instead of training again, and says so (the
    # exports, checked above, are not redone here: they take a third of the demo's time).
    before = (out / "student" / "model.keras").stat().st_mtime_ns
    monkeypatch.setattr("tfcompress.demo.export_and_time", lambda *args: exports)
    capsys.readouterr()
    assert main(["demo", "--quick", "--output-dir", str(out)]) == 0
    assert (out / "student" / "model.keras").stat().st_mtime_ns == before
    printed = capsys.readouterr().out
    assert printed.count("reused the finished run there") == 2  # teacher and student
