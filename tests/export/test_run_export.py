"""`export_run` and `tfcompress export`: a finished run directory to a verified .tflite."""

import json

import numpy as np
import pytest

from tfcompress.cli import main
from tfcompress.errors import ConfigError
from tfcompress.export.run_export import export_run

SMALL = ["--verify-examples", "32", "--calibration-examples", "16"]


@pytest.fixture(scope="module")
def int8_cli_export(finished_classification_run, tmp_path_factory):
    run_dir, _, _ = finished_classification_run
    output = tmp_path_factory.mktemp("cli_export") / "model_int8.tflite"
    before = sorted(p.name for p in run_dir.iterdir())
    code = main(
        ["export", str(run_dir), "--mode", "int8", "--output", str(output), "--profile", *SMALL]
    )
    after = sorted(p.name for p in run_dir.iterdir())
    return code, output, before, after


def test_cli_int8_export_writes_model_and_report(int8_cli_export):
    code, output, before, after = int8_cli_export
    assert code == 0
    assert output.is_file()
    report_file = output.with_suffix(".json")
    assert report_file.is_file()
    report = json.loads(report_file.read_text())
    assert report["mode"] == "int8"
    assert report["task"] == "classification"
    assert report["size_bytes"] == output.stat().st_size > 0
    assert report["parity"]["passed"] is True
    assert isinstance(report["accuracy"], dict) and report["accuracy"]
    assert isinstance(report["keras_accuracy"], dict)
    assert set(report["accuracy"]) == set(report["keras_accuracy"])
    for value in [*report["accuracy"].values(), *report["keras_accuracy"].values()]:
        assert 0.0 <= value <= 1.0
    assert report["accuracy_examples"] == report["parity"]["examples"] > 0
    # --output keeps the run directory untouched (no RUN_DIR/export/).
    assert before == after
    # Timed by default (1 thread): synthetic ids at the full length, and the eval sentences.
    latency = report["latency"]
    assert latency["model_size_bytes"] == report["size_bytes"]
    assert [r["threads"] for r in latency["results"]] == [1]
    (timed,) = latency["results"]
    assert timed["runs"] == 100  # README: p50/p90/p99 of 100 calls
    assert 0 < timed["p50_ms"] <= timed["p90_ms"] <= timed["p99_ms"]
    sentences = report["sentence_latency"]
    assert sentences["sentences"] == min(report["accuracy_examples"], 200)
    assert 0 < sentences["p50_ms"] <= sentences["p90_ms"]


def test_reexport_removes_results_about_the_file_it_replaces(
    finished_classification_run, tmp_path, capsys
):
    run_dir, _, _ = finished_classification_run
    output = tmp_path / "int8.tflite"
    stale = [output.with_suffix(".latency.json"), output.with_suffix(".profile.md")]
    for path in [output, *stale]:
        path.write_text("measured an earlier int8.tflite")
    argv = ["export", str(run_dir), "--output", str(output), "--no-timing", *SMALL]
    assert main(argv) == 0, capsys.readouterr().err
    assert not any(path.exists() for path in stale)
    report = json.loads(output.with_suffix(".json").read_text())
    assert report["removed_stale"] == [str(path) for path in stale]
    assert "latency" not in report and "sentence_latency" not in report
    assert "removed (measured the replaced file)" in capsys.readouterr().out


def test_cli_profile_writes_a_markdown_table(int8_cli_export):
    _, output, _, _ = int8_cli_export
    profile = output.with_name(output.stem + ".profile.md")
    assert profile.is_file()
    text = profile.read_text()
    assert "FULLY_CONNECTED" in text
    assert text.startswith("| op |")


def test_float_export_of_intent_slot_run_matches_keras(finished_run, tmp_path):
    run_dir, _ = finished_run
    output = tmp_path / "float.tflite"
    report = export_run(
        run_dir, "float", output=output, representative_examples=16, verify_examples=32
    )
    assert output.is_file() and output.with_suffix(".json").is_file()
    parity = report["parity"]
    assert parity["passed"] is True
    assert set(parity["argmax_agreement"]) == {"intent_logits", "slot_logits"}
    assert parity["argmax_agreement"]["intent_logits"] == 1.0
    assert parity["argmax_agreement"]["slot_logits"] == 1.0
    assert set(report["accuracy"]) == set(report["keras_accuracy"])
    assert report["task"] == "intent_slot"
    on_disk = json.loads(output.with_suffix(".json").read_text())
    assert on_disk["accuracy"] == report["accuracy"]
    assert on_disk["size_bytes"] == output.stat().st_size
    assert not (run_dir / "export").exists()


def test_unmeetable_agreement_exits_2_with_one_line(finished_classification_run, tmp_path, capsys):
    run_dir, _, _ = finished_classification_run
    output = tmp_path / "strict.tflite"
    argv = [
        "export",
        str(run_dir),
        "--mode",
        "int8",
        "--output",
        str(output),
        "--no-timing",
        *SMALL,
    ]
    code = main([*argv, "--min-agreement", "1.5"])
    err = capsys.readouterr().err
    assert code == 2
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1
    assert lines[0].startswith("tfcompress export: error: parity check failed")
    # The files are still written so a failed export can be inspected.
    assert output.is_file()
    assert json.loads(output.with_suffix(".json").read_text())["parity"]["passed"] is False


def test_missing_run_dir_exits_2(tmp_path, capsys):
    missing = tmp_path / "nope"
    code = main(["export", str(missing), "--output", str(tmp_path / "x.tflite"), *SMALL])
    err = capsys.readouterr().err
    assert code == 2
    assert "no such run directory" in err and str(missing) in err
    assert "Traceback" not in err
    assert not (tmp_path / "x.tflite").exists()


def test_dir_without_model_exits_2(tmp_path, capsys):
    run_dir = tmp_path / "half"
    run_dir.mkdir()
    (run_dir / "config.yaml").write_text("task: classification\n")
    code = main(["export", str(run_dir), "--output", str(tmp_path / "x.tflite"), *SMALL])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("tfcompress export: error:")
    assert "not a finished run" in err and "model.keras" in err
    assert "Traceback" not in err


def test_export_run_raises_config_error_for_missing_dir(tmp_path):
    with pytest.raises(ConfigError, match="no such run directory"):
        export_run(tmp_path / "absent", "float", output=tmp_path / "x.tflite")


def test_range_quantile_outside_its_interval_exits_2_before_any_work(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["export", str(tmp_path / "nope"), "--range-quantile", "0.3"])
    err = capsys.readouterr().err
    assert exit_info.value.code == 2
    assert "range quantile 0.3 is outside (0.5, 1]" in err
    assert "no such run directory" not in err


def test_cli_strings_in_export_of_an_intent_slot_run(finished_run, tmp_path, capsys):
    run_dir, _ = finished_run
    output = tmp_path / "int8_text.tflite"
    code = main(
        [
            "export",
            str(run_dir),
            "--mode",
            "int8",
            "--strings-in",
            "--output",
            str(output),
            "--no-timing",
        ]
        + SMALL
    )
    assert code == 0, capsys.readouterr().err
    report = json.loads(output.with_suffix(".json").read_text())
    assert report["inputs"] == ["text"]
    assert report["custom_ops"]  # tensorflow-text's tokenizer op is in the graph
    parity = report["parity"]
    assert parity["passed"] is True and parity["examples"] == 32
    # The in-graph tokenizer gave the Python tokenizer's ids on every utterance.
    assert not any(parity["id_mismatches"].values())
    assert set(parity["argmax_agreement"]) == {"intent_logits", "slot_logits"}
    # Task metrics of the .tflite run from the utterances' strings, beside the Keras model's.
    assert (
        set(report["accuracy"])
        == set(report["keras_accuracy"])
        == {
            "intent_accuracy",
            "slot_f1",
            "slot_f1_constrained",
            "sentence_accuracy",
        }
    )
    assert "intent_accuracy TFLite / Keras" in capsys.readouterr().out


def test_cli_bucketed_strings_in_export_fits_its_buckets(finished_run, capsys):
    from tfcompress.export.length_buckets import fitted_buckets
    from tfcompress.tasks import FinishedRun

    run_dir, _ = finished_run
    argv = ["export", str(run_dir), "--mode", "float", "--strings-in", "--buckets", "auto"]
    assert main([*argv, "--no-timing", *SMALL]) == 0, capsys.readouterr().err
    report = json.loads((run_dir / "export" / "float_text_buckets.json").read_text())
    # The fitted lengths are those of the 16 calibration examples' token counts.
    fit = report["bucket_fit"]
    runtime = FinishedRun.read(run_dir).task_runtime()
    calibration = runtime.train.subset(16, seed=runtime.seed)
    lengths = np.concatenate(
        [b["padding_mask"].numpy().sum(1) for b in runtime.inputs(calibration)]
    )
    assert fit["examples"] == 16 and fit["mean_tokens"] == pytest.approx(lengths.mean())
    assert tuple(fit["lengths"]) == fitted_buckets(lengths, report["sequence_length"])
    assert report["buckets"] == fit["lengths"] + [report["sequence_length"]]
    assert fit["mean_padded_length"] < report["sequence_length"]
    by_bucket = report["parity"]["by_bucket"]
    assert sum(bucket["examples"] for bucket in by_bucket.values()) == 32
    assert report["parity"]["passed"] is True
    # Float computes the Keras function: the same task metrics, up to a near-tie flipping.
    for name, value in report["keras_accuracy"].items():
        assert report["accuracy"][name] == pytest.approx(value, abs=1 / 32), name
    out = capsys.readouterr().out
    assert all(f"length {length} bucket" in out for length in by_bucket)


def test_cli_auto_buckets_take_no_lengths_beside(finished_run, capsys):
    run_dir, _ = finished_run
    assert main(["export", str(run_dir), "--buckets", "auto", "16"]) == 2
    err = capsys.readouterr().err
    assert "--buckets auto fits the lengths itself" in err and "Traceback" not in err


def test_cli_rejects_a_bucket_length_below_two(finished_run, capsys):
    run_dir, _ = finished_run
    with pytest.raises(SystemExit) as exit_info:
        main(["export", str(run_dir), "--buckets", "1"])
    assert exit_info.value.code == 2
    assert "'1' is not a sequence length of at least 2" in capsys.readouterr().err


def test_cli_split_tokenizer_export(finished_run, capsys):
    run_dir, _ = finished_run
    argv = ["export", str(run_dir), "--mode", "float", "--strings-in", "--split-tokenizer"]
    assert main([*argv, *SMALL]) == 0, capsys.readouterr().err
    output = run_dir / "export" / "float_text_split.tflite"
    report = json.loads(output.with_suffix(".json").read_text())
    assert report["signatures"] == ["tokenize", "serving_default"]
    assert report["parity"]["passed"] is True
    assert report["sentence_latency"]["p50_ms"] > 0  # timed through both signatures
    assert report["latency"]["signature"] == "tokenize+serving_default"
    capsys.readouterr()
    assert main(["export", str(run_dir), "--split-tokenizer", *SMALL]) == 2
    assert "applies to strings-in exports" in capsys.readouterr().err
