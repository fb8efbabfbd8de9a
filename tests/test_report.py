"""`tfcompress report`: rows, Pareto fronts, report.md / report.png, and CLI errors, on run
directories written by hand (metrics.json + export/*.json + *.latency.json; no training)."""

import json

import pytest

from tfcompress.cli import main
from tfcompress.errors import ConfigError, DataError
from tfcompress.reporting import build_report, pareto_indices

MIB = 2**20
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _latency(p50_by_threads, device="host x86_64"):
    results = [
        {
            "threads": threads,
            "runs": 50,
            "warmup": 5,
            "mean_ms": p50 * 1.1,
            "min_ms": p50 * 0.9,
            "p50_ms": p50,
            "p90_ms": p50 * 1.2,
            "p99_ms": p50 * 1.5,
            "peak_rss_mb": 120.0,
            "rss_delta_mb": None,
        }
        for threads, p50 in p50_by_threads.items()
    ]
    return {
        "model": "m.tflite",
        "model_size_bytes": 1,
        "interpreter": "ai-edge-litert 2.3",
        "device": device,
        "date": "2025-01-01",
        "results": results,
    }


def make_run(root, name, evaluation, float32_mb):
    run = root / name
    run.mkdir(parents=True)
    metrics = {
        "eval": evaluation,
        "eval_examples": 872,
        "model": {"encoder": {"num_layers": 2}, "parameters": 1000, "float32_mb": float32_mb},
        "task": "classification",
        "train": {"examples": 10, "wall_time_s": 1.0},
    }
    (run / "metrics.json").write_text(json.dumps(metrics))
    (run / "model.keras").write_bytes(b"not a real model")
    return run


def add_export(run, name, mode, size_mb, accuracy=None, latency=None, sidecar=None, parity=True):
    export = run / "export"
    export.mkdir(exist_ok=True)
    (export / f"{name}.tflite").write_bytes(b"TFL3")
    record = {
        "mode": mode,
        "size_bytes": int(size_mb * MIB),
        "sequence_length": 64,
        "tflite_path": str(export / f"{name}.tflite"),
        "parity": {
            "passed": parity,
            "argmax_agreement": 1.0 if parity else 0.7,
            "max_abs_diff": {"logits": 0.01},
        },
        "accuracy": accuracy,
        "latency": latency,
    }
    (export / f"{name}.json").write_text(json.dumps(record))
    if sidecar is not None:
        (export / f"{name}.latency.json").write_text(json.dumps(sidecar))


@pytest.fixture
def runs(tmp_path):
    """Two runs. Expected fronts at 1 thread (accuracy):
    size:    a/int8 (16 MB, .83) and b/int8 (22 MB, .87, Keras score); a/float16 (33, .84) is
             dominated by b/int8, a/dynamic (17, .80) by a/int8, the Keras models by b/int8.
    latency: a/int8 (10 ms, .83) and a/float16 (20 ms, .84); a/dynamic (12 ms, .80) dominated;
             b/int8 was timed at 4 threads only.
    """
    a = make_run(tmp_path / "runs", "run_a", {"accuracy": 0.84, "f1": 0.7}, 65.68)
    add_export(a, "int8", "int8", 16, accuracy={"accuracy": 0.83}, sidecar=_latency({1: 10, 4: 4}))
    # The harness's sidecar (20 ms) wins over the latency embedded at export time (99 ms).
    add_export(
        a,
        "f16",
        "float16",
        33,
        accuracy={"accuracy": 0.84},
        latency=_latency({1: 99}),
        sidecar=_latency({1: 20, 4: 8}),
    )
    add_export(a, "dyn", "dynamic", 17, accuracy={"accuracy": 0.80}, latency=_latency({1: 12}))
    b = make_run(tmp_path / "runs", "run_b", {"accuracy": 0.87}, 85.99)
    add_export(b, "int8", "int8", 22, accuracy=None, latency=_latency({4: 15}), parity=False)
    return a, b


def _by_label(result):
    return {(row["run"], row["variant"]): row for row in result["rows"]}


def _front(result, flag):
    return {label for label, row in _by_label(result).items() if row[flag]}


def test_pareto_indices_excludes_dominated_points_and_keeps_ties():
    points = [(10, 0.9), (20, 0.85), (5, 0.8), (20, 0.95), (10, 0.9), (5, 0.7)]
    # (20, .85) is dominated by (10, .9); (5, .7) by (5, .8); the (10, .9) tie stays twice.
    assert pareto_indices(points) == [0, 2, 3, 4]
    assert pareto_indices([]) == []


def test_rows_and_pareto_fronts(runs, tmp_path):
    result = build_report(list(runs), tmp_path / "out")
    rows = _by_label(result)
    assert len(rows) == 6 and [r["size_mb"] for r in result["rows"]] == sorted(
        r["size_mb"] for r in result["rows"]
    )
    assert _front(result, "pareto_size") == {("run_a", "int8"), ("run_b", "int8")}
    assert _front(result, "pareto_latency") == {("run_a", "int8"), ("run_a", "float16")}
    assert rows["run_a", "float16"]["latency_ms"] == 20  # sidecar, not the embedded 99
    assert rows["run_a", "int8"]["measured_on"] == "TFLite"
    unmeasured = rows["run_b", "int8"]
    assert unmeasured["measured_on"] == "Keras" and unmeasured["value"] == 0.87
    assert unmeasured["latency_ms"] is None and unmeasured["parity"] is False
    keras = rows["run_a", "keras"]
    assert keras["size_mb"] == 65.68 and keras["latency_ms"] is None and keras["parity"] is None


def test_threads_picks_that_measurement(runs, tmp_path):
    result = build_report(list(runs), tmp_path / "out", threads=4)
    rows = _by_label(result)
    assert rows["run_b", "int8"]["latency_ms"] == 15
    assert rows["run_a", "dynamic"]["latency_ms"] is None  # timed at 1 thread only
    assert _front(result, "pareto_latency") == {
        ("run_a", "int8"),
        ("run_a", "float16"),
        ("run_b", "int8"),
    }
    assert "| p50 (ms, 4 threads) |" in (tmp_path / "out" / "report.md").read_text()


def test_markdown_rows_marks_and_notes(runs, tmp_path):
    build_report(list(runs), tmp_path / "out")
    text = (tmp_path / "out" / "report.md").read_text()
    lines = {
        tuple(c.strip() for c in line.strip("|").split("|"))[:2]: line
        for line in text.splitlines()
        if line.startswith("| run_")
    }
    assert len(lines) == 6
    assert "★ size, latency" in lines["run_a", "int8"]
    assert "★ latency" in lines["run_a", "float16"] and "size" not in lines["run_a", "float16"]
    assert "★" not in lines["run_a", "dynamic"] and "★" not in lines["run_a", "keras"]
    assert "★ size" in lines["run_b", "int8"]
    assert "| Keras |" in lines["run_b", "int8"] and "✗" in lines["run_b", "int8"]
    assert "| TFLite |" in lines["run_a", "int8"] and "✓" in lines["run_a", "int8"]
    assert "| — |" in lines["run_a", "keras"]  # Keras models have no latency
    table = [line for line in text.splitlines() if line.startswith("| run_")]
    sizes = [float(line.split("|")[5]) for line in table]
    assert sizes == sorted(sizes)
    assert "| accuracy |" in text  # one metric → it names the score column
    assert "![accuracy vs size and latency](report.png)" in text
    assert "Keras float model" in text and "MB = 2^20 bytes" in text


def test_png_is_a_real_image(runs, tmp_path):
    result = build_report(list(runs), tmp_path / "out")
    data = (tmp_path / "out" / "report.png").read_bytes()
    assert result["png"] == str(tmp_path / "out" / "report.png")
    assert data[:8] == PNG_MAGIC and len(data) > 20_000
    # Atomic writes leave no temp files behind.
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["report.md", "report.png"]


def test_run_without_exports_reports_its_keras_model(tmp_path):
    run = make_run(tmp_path, "plain", {"intent_accuracy": 0.9, "slot_f1": 0.8}, 12.5)
    (run / "export").mkdir()
    (run / "export" / "ops.json").write_text('{"FULLY_CONNECTED": 3}')  # not an export record
    result = build_report([run], tmp_path / "out")
    assert [(r["variant"], r["metric"], r["value"]) for r in result["rows"]] == [
        ("keras", "intent_accuracy", 0.9)
    ]
    assert result["rows"][0]["pareto_size"] and not result["rows"][0]["pareto_latency"]
    assert (tmp_path / "out" / "report.png").read_bytes()[:8] == PNG_MAGIC


def test_metric_option_and_mixed_metrics(runs, tmp_path):
    a, b = runs
    result = build_report([a, b], tmp_path / "out", metric="f1")
    rows = _by_label(result)
    # The exports measured accuracy only, so their f1 is the Keras model's.
    assert rows["run_a", "int8"]["value"] == 0.7 and rows["run_a", "int8"]["measured_on"] == "Keras"
    assert rows["run_b", "keras"]["value"] is None and not rows["run_b", "keras"]["pareto_size"]
    intent = make_run(tmp_path, "snips", {"intent_accuracy": 0.98}, 86.0)
    mixed = build_report([a, intent], tmp_path / "mixed")
    # Different metrics are separate fronts: the snips model is alone on its own.
    assert _by_label(mixed)["snips", "keras"]["pareto_size"]
    assert "| metric | score |" in (tmp_path / "mixed" / "report.md").read_text()


def test_same_run_names_get_their_parent(tmp_path):
    x = make_run(tmp_path / "one", "sst2", {"accuracy": 0.8}, 10.0)
    y = make_run(tmp_path / "two", "sst2", {"accuracy": 0.9}, 20.0)
    result = build_report([x, y, x], tmp_path / "out")
    assert [r["run"] for r in result["rows"]] == ["one/sst2", "two/sst2"]


def test_errors_are_tfcompress_errors(runs, tmp_path):
    a, _ = runs
    with pytest.raises(ConfigError, match="no such run directory"):
        build_report([tmp_path / "nope"], tmp_path / "out")
    with pytest.raises(ConfigError, match="no run has it; they have accuracy, f1"):
        build_report([a], tmp_path / "out", metric="slot_f1")
    (a / "export" / "int8.latency.json").write_text('{"results": [{"threads": "one"}]}')
    with pytest.raises(DataError, match="int8.latency.json"):
        build_report([a], tmp_path / "out")
    assert not (tmp_path / "out").exists()  # nothing written when an input is bad


def _cli(capsys, *argv):
    code = main([str(arg) for arg in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err.strip()


def test_cli_success(runs, tmp_path, capsys):
    out = tmp_path / "reports"
    code, stdout, err = _cli(capsys, "report", *runs, "--output-dir", out, "--threads", 1)
    assert code == 0, err
    assert f"report: {out / 'report.md'}" in stdout and f"plot:   {out / 'report.png'}" in stdout
    assert "run_a" in stdout and "int8" in stdout and "★" in stdout
    assert (out / "report.png").is_file() and (out / "report.md").is_file()


def _unfinished(tmp_path):
    run = tmp_path / "unfinished"
    run.mkdir()
    (run / "config.yaml").write_text("task: classification\n")
    return run


def _bad_metrics(tmp_path):
    run = make_run(tmp_path, "bad", {"accuracy": 0.5}, 1.0)
    (run / "metrics.json").write_text('{"eval": {"accuracy": 0.5}, ')
    return run


def _bad_export(tmp_path):
    run = make_run(tmp_path, "bad_export", {"accuracy": 0.5}, 1.0)
    add_export(run, "int8", "int8", 1)
    (run / "export" / "int8.json").write_text("[1, 2")
    return run


@pytest.mark.parametrize(
    "make, extra, needles",
    [
        (lambda t: t / "missing", [], ["missing", "no such run directory"]),
        (
            _unfinished,
            [],
            ["not a finished run", "unfinished", "metrics.json", "tfcompress finetune"],
        ),
        (_bad_metrics, [], ["metrics.json", "malformed JSON"]),
        (_bad_export, [], ["int8.json", "malformed JSON"]),
        (
            lambda t: make_run(t, "ok", {"accuracy": 0.5}, 1.0),
            ["--metric", "bleu"],
            ["--metric bleu", "no run has it"],
        ),
    ],
)
def test_cli_errors(tmp_path, capsys, make, extra, needles):
    code, _, err = _cli(capsys, "report", make(tmp_path), *extra, "--output-dir", tmp_path / "o")
    assert code == 2
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    assert err.startswith("tfcompress report: error:")
    for needle in needles:
        assert needle in err, err
    assert not (tmp_path / "o").exists()


def test_an_export_named_beyond_its_mode_shows_its_name():
    from tfcompress.reporting.report_row import ReportRow

    def row(export, variant="int8"):
        return ReportRow(
            run="r",
            run_path="r",
            variant=variant,
            export=export,
            metric="m",
            value=None,
            measured_on="TFLite",
            size_mb=1.0,
            latency_ms=None,
            latency_device=None,
            parity=None,
            argmax_agreement=None,
            eval_examples=None,
        )

    assert row("int8_text_buckets").model_name == "int8_text_buckets"
    assert row("int8").model_name == "int8"
    assert row("model_int8").model_name == "int8"  # a --output name says nothing more
    assert row(None, "keras").model_name == "keras"


def _timed_export(run, name, tflite, latency=None, sidecar=None):
    add_export(
        run, name, "float", 0.01, accuracy={"accuracy": 0.8}, latency=latency, sidecar=sidecar
    )
    (run / "export" / f"{name}.tflite").write_bytes(tflite.read_bytes())


def test_measure_times_only_the_exports_without_latency(tiny_tflite, tmp_path, capsys):
    from tfcompress.latency.provenance import describe_device

    run = make_run(tmp_path / "runs", "run", {"accuracy": 0.8}, 1.0)
    _timed_export(run, "untimed", tiny_tflite)
    _timed_export(run, "timed", tiny_tflite, latency=_latency({1: 7.0}))
    # The harness timed this file at 4 threads on this host: the 1-thread result joins it.
    here = {**_latency({4: 3.0}), "device": describe_device()}
    here["model_size_bytes"] = tiny_tflite.stat().st_size
    _timed_export(run, "harness", tiny_tflite, sidecar=here)
    code, printed, err = _cli(capsys, "report", run, "--output-dir", tmp_path / "r", "--measure")
    assert code == 0, err
    assert printed.count("timed ") == 2 and "untimed.tflite" in printed
    export = run / "export"
    untimed = json.loads((export / "untimed.json").read_text())["latency"]
    assert [r["threads"] for r in untimed["results"]] == [1]
    assert untimed["results"][0]["p50_ms"] > 0
    assert json.loads((export / "timed.json").read_text())["latency"] == _latency({1: 7.0})
    sidecar = json.loads((export / "harness.latency.json").read_text())
    assert [r["threads"] for r in sidecar["results"]] == [4, 1]
    rows = {row["export"]: row for row in build_report([run], tmp_path / "r")["rows"]}
    assert rows["untimed"]["latency_ms"] == untimed["results"][0]["p50_ms"]
    assert rows["timed"]["latency_ms"] == 7.0
    # Measured once: a second --measure has nothing left to time.
    code, printed, _ = _cli(capsys, "report", run, "--output-dir", tmp_path / "r", "--measure")
    assert code == 0 and "timed " not in printed
