"""`tfcompress check`: the plan of a recipe, worked out with every check a run makes
before its first step, and nothing written."""

import numpy as np

from tests.test_cli import _assert_one_line_error, _config_file, _digest, _run_cli
from tests.training.helpers import tiny_values
from tfcompress.data import generate_intent_slot_data


def _rows(out):
    return {
        cells[1].strip(): cells[2].strip()
        for line in out.splitlines()
        if (cells := line.split("│")) and len(cells) == 4
    }


def test_check_prints_the_plan_and_writes_nothing(tmp_path, capsys):
    from tfcompress.cli import main

    values = tiny_values(tmp_path / "run")
    assert main(["check", "--config", _config_file(tmp_path, values)]) == 0
    rows = _rows(capsys.readouterr().out)
    assert rows["train examples"] == "96" and rows["eval examples"] == "32"
    assert rows["epochs × steps"] == "2 × 6 = 12"  # 96 examples, batch 16
    assert rows["output directory state"] == "new"
    assert int(rows["model parameters"].replace(",", "")) > 10_000
    assert not (tmp_path / "run").exists()


def test_check_warns_about_truncation_with_the_length_that_fits_99_percent(tmp_path, capsys):
    from tfcompress.cli import main

    values = tiny_values(tmp_path / "run", model__sequence_length=8)
    assert main(["check", "--config", _config_file(tmp_path, values)]) == 0
    out = capsys.readouterr().out
    warnings = [line for line in out.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 2 and "sequence_length 8" in warnings[0]
    # The synthetic utterances' word counts bound their token counts from below.
    words = generate_intent_slot_data(96, seed=0).words
    floor = int(np.ceil(np.percentile([len(w) + 2 for w in words], 99)))
    fits = int(warnings[0].split(" tokens would fit 99%")[0].rsplit(" ", 1)[1])
    assert fits >= floor > 8


def test_check_refuses_what_the_run_would_refuse(tmp_path, capsys, finished_run):
    out, _ = finished_run
    before = _digest(out)
    values = tiny_values(out)
    code, err = _run_cli(capsys, "check", "--config", _config_file(tmp_path, values))
    _assert_one_line_error(code, err, "already holds a finished run", "--overwrite")
    assert _digest(out) == before
