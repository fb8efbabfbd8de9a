"""mobile_eval/android/benchmark_on_device.py: the adb command lines, the device description,
combining logs, and the whole flow with a fake adb (no phone needed)."""

import json
from pathlib import Path

import pytest

from tests.latency.helpers import LOGS, check_schema, load_script, parse_log


@pytest.fixture(scope="module")
def android():
    return load_script("mobile_eval/android/benchmark_on_device.py")


def test_android_benchmark_command(android):
    command = android.benchmark_command(
        "/data/local/tmp/benchmark_model",
        "/data/local/tmp/my model.tflite",
        4,
        100,
        10,
        serial="emulator-5554",
    )
    assert command == [
        "adb",
        "-s",
        "emulator-5554",
        "shell",
        "/data/local/tmp/benchmark_model '--graph=/data/local/tmp/my model.tflite' "
        "--num_threads=4 --use_xnnpack=true --num_runs=100 --warmup_runs=10 "
        "--report_peak_memory_footprint=true 2>&1",
    ]
    plain = android.benchmark_command(
        "bm", "m.tflite", 1, 5, 0, use_xnnpack=False, peak_memory=False
    )
    assert plain == [
        "adb",
        "shell",
        "bm --graph=m.tflite --num_threads=1 --use_xnnpack=false --num_runs=5 --warmup_runs=0 2>&1",
    ]


def test_android_push_and_paths(android):
    assert android.push_command("out/m.tflite", "/data/local/tmp/m.tflite", serial="X") == [
        "adb",
        "-s",
        "X",
        "push",
        "out/m.tflite",
        "/data/local/tmp/m.tflite",
    ]
    assert android.remote_path("out/student int8.tflite") == "/data/local/tmp/student int8.tflite"
    assert android.log_path("logs", "out/m.tflite", 2) == Path("logs/m_threads2.log")


def test_android_device_description(android):
    props = android.parse_getprop(
        "[ro.product.manufacturer]: [Google]\n[ro.product.model]: [Pixel 7]\n"
        "[ro.build.version.release]: [14]\n[ro.soc.model]: [GS201]\n"
        "[ro.product.cpu.abi]: [arm64-v8a]\n"
    )
    assert android.describe_android(props) == "Google Pixel 7 (Android 14, GS201, arm64-v8a)"


def test_android_combines_logs_into_one_report(android):
    parsed = [
        parse_log("new_format_op_profiling.txt"),
        parse_log("new_format_percentiles_memory.txt"),
    ]
    report = android.combine_reports(
        parsed, "m.tflite", 6402311, "Pixel 7", "2025-01-01T00:00:00+00:00"
    )
    check_schema(report, "benchmark_model")
    assert [r["threads"] for r in report["results"]] == [2, 4]


def test_android_missing_adb_is_a_clear_error(android, tmp_path, capsys):
    model = tmp_path / "m.tflite"
    model.write_bytes(b"x")
    code = android.main([str(model), "--adb", str(tmp_path / "no-adb")])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1
    assert "not found" in err and "platform-tools" in err


FAKE_ADB = """#!/bin/sh
echo "$@" >> "{calls}"
[ "$1" = "-s" ] && shift 2
case "$1" in
  get-state) echo device ;;
  push) ;;
  shell) case "$2" in
      getprop*) printf '[ro.product.manufacturer]: [Google]\\n[ro.product.model]: [Pixel 7]\\n' ;;
      chmod*) ;;
      *) cat "{log}" ;;
    esac ;;
esac
"""


def test_android_run_with_a_fake_adb(android, tiny_tflite, tmp_path, capsys):
    """The whole flow (state, getprop, push, chmod, one run per thread count) without a phone."""
    calls = tmp_path / "calls.txt"
    adb = tmp_path / "adb"
    log = LOGS / "new_format_percentiles_memory.txt"
    adb.write_text(FAKE_ADB.format(calls=calls, log=log))
    adb.chmod(0o755)
    binary = tmp_path / "android_aarch64_benchmark_model"
    binary.write_bytes(b"elf")
    out = tmp_path / "phone.json"
    argv = [str(tiny_tflite), "--adb", str(adb), "--serial", "S1", "--threads", "1", "4"]
    assert android.main([*argv, "--benchmark-binary", str(binary), "--output", str(out)]) == 0
    report = json.loads(out.read_text())
    check_schema(report, "benchmark_model")
    assert report["device"] == "Google Pixel 7"
    assert report["model_size_bytes"] == tiny_tflite.stat().st_size
    assert [r["threads"] for r in report["results"]] == [4, 4]  # the log's own `Num threads`
    assert sorted(p.name for p in (tmp_path / "phone_logs").iterdir()) == [
        "tiny_threads1.log",
        "tiny_threads4.log",
    ]
    lines = calls.read_text().splitlines()
    assert lines[0] == "-s S1 get-state"
    assert any("push" in line and "benchmark_model" in line for line in lines)
    assert sum("--num_threads=" in line for line in lines) == 2
