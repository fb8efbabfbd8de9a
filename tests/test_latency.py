"""The latency harness: host timing with LiteRT, the benchmark_model log parser (on saved
real-format logs), the Android adb command lines, and the host_runner CLI."""

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tfcompress.errors import TfcompressError
from tfcompress.latency import (
    LatencyError,
    make_inputs,
    measure_latency,
    parse_benchmark_model_output,
    report_table,
)

REPO = Path(__file__).resolve().parents[1]
LOGS = Path(__file__).parent / "data" / "benchmark_model"
TOP_KEYS = {"model", "model_size_bytes", "interpreter", "device", "date", "results"}
RESULT_KEYS = {
    "threads",
    "runs",
    "warmup",
    "mean_ms",
    "min_ms",
    "p50_ms",
    "p90_ms",
    "p99_ms",
    "peak_rss_mb",
    "rss_delta_mb",
}
VOCAB = 50  # below the default id range (< 100): the harness must read it from the model


def _load_script(relative):
    path = REPO / relative
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def tiny_tflite(tmp_path_factory):
    """A Keras model with named int32 inputs and a 50-row embedding, as a .tflite file.

    TFLite's GATHER fails on an id >= 50, so timing it also checks the id range."""
    import keras
    import tensorflow as tf

    token_ids = keras.Input((8,), dtype="int32", name="token_ids")
    mask = keras.Input((8,), dtype="int32", name="padding_mask")
    x = keras.layers.Embedding(VOCAB, 8)(token_ids)
    x = x * keras.ops.expand_dims(keras.ops.cast(mask, "float32"), -1)
    out = keras.layers.Dense(2)(keras.layers.GlobalAveragePooling1D()(x))
    model = keras.Model({"token_ids": token_ids, "padding_mask": mask}, out)
    root = tmp_path_factory.mktemp("tiny")
    model.export(str(root / "saved"), format="tf_saved_model", verbose=False)
    path = root / "tiny.tflite"
    path.write_bytes(tf.lite.TFLiteConverter.from_saved_model(str(root / "saved")).convert())
    return path


def _check_schema(report, interpreter):
    assert TOP_KEYS <= set(report)
    assert report["interpreter"] == interpreter
    assert isinstance(report["model"], str) and isinstance(report["device"], str)
    assert isinstance(report["model_size_bytes"], int) and report["model_size_bytes"] > 0
    for result in report["results"]:
        assert RESULT_KEYS <= set(result)
    json.dumps(report)  # JSON-serialisable as is


# --------------------------------------------------------------------------- host timing


def test_measure_latency_schema_and_order(tiny_tflite):
    report = measure_latency(tiny_tflite, threads=(1, 2), runs=5, warmup=2)
    _check_schema(report, "litert")
    assert report["model_size_bytes"] == tiny_tflite.stat().st_size
    assert report["date"].endswith("+00:00")
    assert report["signature"] == "serving_default" and report["custom_ops"] is False
    assert {i["name"]: i["shape"] for i in report["inputs"]} == {
        "padding_mask": [1, 8],
        "token_ids": [1, 8],
    }
    assert [r["threads"] for r in report["results"]] == [1, 2]
    for r in report["results"]:
        assert r["runs"] == 5 and r["warmup"] == 2
        assert 0 < r["min_ms"] <= r["p50_ms"] <= r["p90_ms"] <= r["p99_ms"] <= r["max_ms"]
        assert r["mean_ms"] > 0
        assert r["peak_rss_mb"] > 0 and r["rss_delta_mb"] is not None


def test_model_without_signature_uses_set_tensor_and_invoke(tiny_tflite, monkeypatch):
    from ai_edge_litert import interpreter as litert

    monkeypatch.setattr(litert.Interpreter, "get_signature_list", lambda self: {})
    report = measure_latency(tiny_tflite, threads=(1,), runs=3, warmup=1)
    assert report["timed"] == "invoke" and report["signature"] is None
    names = {i["name"] for i in report["inputs"]}
    assert names == {"serving_default_token_ids:0", "serving_default_padding_mask:0"}
    assert report["results"][0]["p50_ms"] > 0


def test_measure_latency_accepts_given_inputs(tiny_tflite):
    inputs = {
        "token_ids": np.full((2, 8), VOCAB - 1, np.int32),
        "padding_mask": np.ones((2, 8), np.int32),
    }
    report = measure_latency(tiny_tflite, threads=(1,), runs=2, warmup=0, inputs=inputs)
    assert {i["name"]: i["shape"] for i in report["inputs"]}["token_ids"] == [2, 8]


def test_measure_latency_rejects_wrong_input_names(tiny_tflite):
    with pytest.raises(LatencyError, match="token_ids"):
        measure_latency(tiny_tflite, threads=(1,), runs=1, inputs={"input_ids": np.ones((1, 8))})


def test_measure_latency_bad_model_file(tmp_path):
    with pytest.raises(LatencyError, match="no such model file"):
        measure_latency(tmp_path / "missing.tflite", threads=(1,), runs=1)
    junk = tmp_path / "junk.tflite"
    junk.write_bytes(b"not a flatbuffer")
    with pytest.raises(LatencyError, match="cannot load"):
        measure_latency(junk, threads=(1,), runs=1)


def test_tflite_runtime_missing_says_how_to_install(tiny_tflite, monkeypatch):
    monkeypatch.setitem(sys.modules, "tflite_runtime", None)  # import fails even if installed
    monkeypatch.setitem(sys.modules, "tflite_runtime.interpreter", None)
    with pytest.raises(TfcompressError, match="pip install tflite-runtime"):
        measure_latency(tiny_tflite, threads=(1,), runs=1, interpreter="tflite_runtime")


def test_make_inputs_by_role():
    def detail(shape, dtype):
        return {"shape": np.array(shape), "shape_signature": np.array(shape), "dtype": dtype}

    inputs = make_inputs(
        {
            "token_ids": detail([-1, 16], np.int32),
            "padding_mask": detail([-1, 16], np.int32),
            "segment_ids": detail([-1, 16], np.int32),
            "features": detail([1, 4], np.float32),
            "text": detail([-1], np.bytes_),
        },
        vocab_size=30,
    )
    assert inputs["token_ids"].shape == (1, 16)
    assert 1 <= inputs["token_ids"].min() and inputs["token_ids"].max() < 30
    assert (inputs["padding_mask"] == 1).all() and (inputs["segment_ids"] == 0).all()
    assert inputs["features"].dtype == np.float32
    assert inputs["text"].shape == (1,) and b"quick brown fox" in inputs["text"][0]


def test_text_model_loads_tensorflow_text_ops_on_demand(tmp_path):
    """A tf.string model with an in-graph tokenizer needs tensorflow-text's kernels."""
    import tensorflow as tf
    import tensorflow_text as tft

    tokenizer = tft.FastWordpieceTokenizer(
        vocab=["[UNK]", "the", "quick", "brown", "fox"], unknown_token="[UNK]"
    )

    class Tokenize(tf.Module):
        @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="text")])
        def serve(self, text):
            return {"ids": tf.reduce_sum(tf.cast(tokenizer.tokenize(text), tf.float32), -1)}

    module = Tokenize()
    converter = tf.lite.TFLiteConverter.from_concrete_functions(
        [module.serve.get_concrete_function()], module
    )
    converter.allow_custom_ops = True
    path = tmp_path / "text.tflite"
    path.write_bytes(converter.convert())

    with pytest.raises(LatencyError, match="unresolved custom op"):
        measure_latency(path, threads=(1,), runs=1, custom_ops=False)
    report = measure_latency(path, threads=(1,), runs=2, warmup=1)
    assert report["custom_ops"] is True
    assert report["inputs"] == [{"name": "text", "shape": [1], "dtype": "object"}]


# --------------------------------------------------------------------------- benchmark_model logs


def _parse(name, **kwargs):
    return parse_benchmark_model_output((LOGS / name).read_text(), **kwargs)


def test_parse_old_format_without_percentiles():
    report = _parse("old_format_no_percentiles.txt", device="Pixel 4", date="2020-06-01")
    _check_schema(report, "benchmark_model")
    assert report["model"] == "/data/local/tmp/student_float.tflite"
    assert report["model_size_bytes"] == 17_452_800
    (r,) = report["results"]
    assert (r["threads"], r["runs"], r["warmup"]) == (4, 50, 1)  # warm-up line is `count=1 curr=`
    assert r["mean_ms"] == pytest.approx(2950.34) and r["min_ms"] == pytest.approx(2727.568)
    assert r["p50_ms"] == r["mean_ms"] and r["p50_is_mean"] is True
    assert r["p90_ms"] is None and r["p99_ms"] is None
    assert r["rss_delta_mb"] == pytest.approx(46.0859) and r["peak_rss_mb"] is None
    assert r["xnnpack"] is False and r["init_ms"] == pytest.approx(38.164)


def test_parse_new_format_with_median_and_memory():
    (r,) = _parse("new_format_percentiles_memory.txt")["results"]
    assert (r["threads"], r["runs"], r["warmup"]) == (4, 100, 43)
    assert r["mean_ms"] == pytest.approx(11.6128)
    assert r["p50_ms"] == pytest.approx(11.433) and r["p50_is_mean"] is False
    assert r["p95_ms"] == pytest.approx(12.604) and r["p90_ms"] is None
    assert r["peak_rss_mb"] == pytest.approx(27.3516)
    assert r["rss_delta_mb"] == pytest.approx(21.8164)
    assert r["xnnpack"] is True


def test_parse_ignores_op_profiling_summaries():
    (r,) = _parse("new_format_op_profiling.txt")["results"]
    assert (r["threads"], r["runs"], r["warmup"]) == (2, 54, 27)
    assert r["mean_ms"] == pytest.approx(18.6904)  # not the profiler's 18.6458


def test_parse_crashed_run_raises_with_last_lines():
    with pytest.raises(LatencyError) as error:
        _parse("crashed_unresolved_custom_op.txt")
    assert "Failed to allocate tensors!" in str(error.value)
    assert "\n" not in str(error.value)


def test_parse_killed_run_raises():
    text = "INFO: STARTING!\nINFO: Loaded model /data/local/tmp/m.tflite\nSegmentation fault\n"
    with pytest.raises(LatencyError, match="no timed-runs line.*Segmentation fault"):
        parse_benchmark_model_output(text)


def test_parse_logcat_lines_and_threads_argument():
    text = (
        "07-08 15:34:25.101 I/tflite  ( 5395): count=3 first=2700000 curr=2650000 "
        "min=2650000 max=2700000 avg=2.68e+06 std=20000\n"
        "07-08 15:34:26.201 I/tflite  ( 5395): count=10 first=2653894 curr=2709263 "
        "min=2640862 max=3025403 avg=2.71985e+06 std=105101 p5=2640862 median=2709263 p95=3025403\n"
    )
    (r,) = parse_benchmark_model_output(text, threads=2)["results"]
    assert (r["threads"], r["runs"], r["warmup"]) == (2, 10, 3)
    assert r["p50_ms"] == pytest.approx(2709.263)


def test_report_table_renders_missing_values():
    table = report_table(_parse("old_format_no_percentiles.txt"))
    assert table.row_count == 1


# --------------------------------------------------------------------------- Android script


@pytest.fixture(scope="module")
def android():
    return _load_script("mobile_eval/android/benchmark_on_device.py")


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
        _parse("new_format_op_profiling.txt"),
        _parse("new_format_percentiles_memory.txt"),
    ]
    report = android.combine_reports(
        parsed, "m.tflite", 6402311, "Pixel 7", "2025-01-01T00:00:00+00:00"
    )
    _check_schema(report, "benchmark_model")
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
    _check_schema(report, "benchmark_model")
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


# --------------------------------------------------------------------------- host_runner CLI


def test_host_runner_writes_json(tiny_tflite, tmp_path, capsys):
    host_runner = _load_script("mobile_eval/host_runner.py")
    out = tmp_path / "reports" / "host.json"
    argv = [str(tiny_tflite), "--threads", "1", "2", "--runs", "3", "--warmup", "1"]
    assert host_runner.main([*argv, "--output", str(out)]) == 0
    report = json.loads(out.read_text())
    _check_schema(report, "litert")
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
