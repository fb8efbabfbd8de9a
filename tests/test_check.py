"""`tfcompress check`: the plan of a recipe, worked out with every check a run makes
before its first step, and nothing written."""

import numpy as np
import pytest

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


class _Words:
    """Word-level examples whose token counts are given: what `_truncation` reads."""

    def __init__(self, lengths):
        self.words = [["w"] * n for n in lengths]

    def __len__(self):
        return len(self.words)

    def subset(self, count):
        return _Words([len(w) for w in self.words[:count]])


class _Tokenizer:
    sequence_length = 10

    def packed_lengths(self, texts, words):
        return np.array([len(w) for w in words])


@pytest.mark.parametrize("cut, warned", [(2, False), (3, True)])
def test_truncation_warns_above_one_percent_with_the_exact_99th_percentile(cut, warned):
    from tfcompress.run_plan import RunPlan, _truncation

    rng = np.random.default_rng(cut)
    lengths = np.concatenate([rng.integers(3, 11, 200 - cut), 11 + np.arange(cut)])
    plan = RunPlan("check")
    _truncation(plan, "train", _Tokenizer(), _Words(lengths))
    fits = int(np.ceil(np.percentile(lengths, 99)))
    assert plan.rows == [
        ("train truncated at 10 tokens", f"{cut / 200:.1%}; 99% fit in {fits}, longest {10 + cut}")
    ]
    # 2 of 200 (1.0%) is not more than 1%; 3 of 200 is.
    assert len(plan.warnings) == warned
    if warned:
        assert f"{fits} tokens would fit 99% of them" in plan.warnings[0]


def test_truncation_measures_a_sample_of_5000():
    from tfcompress.run_plan import RunPlan, _truncation

    plan = RunPlan("check")
    _truncation(plan, "train", _Tokenizer(), _Words([4] * 4000 + [20] * 2000))
    # The first 5,000 hold 1,000 long ones: 20.0% of the sample, not 33.3% of all 6,000.
    assert plan.rows == [
        ("train truncated at 10 tokens", "20.0% (sample of 5,000); 99% fit in 20, longest 20")
    ]
