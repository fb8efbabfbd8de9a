import numpy as np
import pytest

from tfcompress.data.glue import GLUE_TASKS, read_glue_tsv
from tfcompress.errors import DataError


def write(tmp_path, name, lines, bom=False):
    path = tmp_path / name
    path.write_text(
        ("\ufeff" if bom else "") + "".join(line + "\n" for line in lines), encoding="utf-8"
    )
    return path


def test_sst2(tmp_path):
    path = write(
        tmp_path, "sst2.tsv", ["sentence\tlabel", "a charming movie \t1", "dull and slow \t0"]
    )
    data = read_glue_tsv(path, "sst2")
    assert data.texts_a == ["a charming movie ", "dull and slow "]
    assert data.texts_b is None
    assert data.labels.tolist() == [1, 0] and data.labels.dtype == np.int64
    assert data.label_names == ["0", "1"] and data.skipped == 0


def test_cola_has_no_header(tmp_path):
    path = write(tmp_path, "cola.tsv", ["gj04\t1\t\tThe cat sat.", "gj04\t0\t*\tCat the sat."])
    data = read_glue_tsv(path, "cola")
    assert data.texts_a == ["The cat sat.", "Cat the sat."] and data.labels.tolist() == [1, 0]


def test_mrpc_bom_and_bare_quotes(tmp_path):
    path = write(
        tmp_path,
        "mrpc.tsv",
        [
            "Quality\t#1 ID\t#2 ID\t#1 String\t#2 String",
            '1\t11\t12\tHe said " hi .\t" Hi , " he said .',
            "0\t13\t14\tA b .\tC d .",
        ],
        bom=True,
    )
    data = read_glue_tsv(path, "mrpc")
    assert data.texts_a == ['He said " hi .', "A b ."]
    assert data.texts_b == ['" Hi , " he said .', "C d ."]
    assert data.labels.tolist() == [1, 0]


@pytest.mark.parametrize(
    "task,header",
    [("rte", "index\tsentence1\tsentence2\tlabel"), ("qnli", "index\tquestion\tsentence\tlabel")],
)
def test_rte_qnli(tmp_path, task, header):
    path = write(
        tmp_path,
        f"{task}.tsv",
        [header, "0\tq one\ts one\tnot_entailment", "1\tq two\ts two\tentailment"],
    )
    data = read_glue_tsv(path, task)
    assert data.texts_a == ["q one", "q two"] and data.texts_b == ["s one", "s two"]
    assert data.labels.tolist() == [1, 0]


def test_mnli_gold_label_is_last_column(tmp_path):
    header = "\t".join(
        [
            "index",
            "promptID",
            "pairID",
            "genre",
            "b1",
            "b2",
            "p1",
            "p2",
            "sentence1",
            "sentence2",
            "label1",
            "gold_label",
        ]
    )
    rows = [
        "\t".join(
            [
                "0",
                "1",
                "1n",
                "gov",
                "x",
                "x",
                "x",
                "x",
                "premise a",
                "hypo a",
                "entailment",
                "neutral",
            ]
        ),
        "\t".join(
            [
                "1",
                "2",
                "2c",
                "gov",
                "x",
                "x",
                "x",
                "x",
                "premise b",
                "hypo b",
                "neutral",
                "contradiction",
            ]
        ),
    ]
    data = read_glue_tsv(write(tmp_path, "mnli.tsv", [header, *rows]), "mnli")
    assert data.texts_a == ["premise a", "premise b"] and data.texts_b == ["hypo a", "hypo b"]
    assert data.labels.tolist() == [2, 0]


def test_malformed_row_names_line(tmp_path):
    path = write(
        tmp_path, "bad.tsv", ["sentence\tlabel", "fine\t1", "no label column", "also fine\t0"]
    )
    with pytest.raises(DataError, match=r"bad.tsv:3: expected 2 tab-separated columns, got 1"):
        read_glue_tsv(path, "sst2")
    data = read_glue_tsv(path, "sst2", skip_malformed=True)
    assert data.texts_a == ["fine", "also fine"] and data.skipped == 1


def test_unknown_label_names_line_and_can_be_skipped(tmp_path):
    path = write(tmp_path, "lab.tsv", ["sentence\tlabel", "ok\t1", "weird\t7"])
    with pytest.raises(DataError, match=r"lab.tsv:3: unknown label '7'"):
        read_glue_tsv(path, "sst2")
    assert read_glue_tsv(path, "sst2", skip_malformed=True).skipped == 1


def test_label_names_override(tmp_path):
    path = write(tmp_path, "o.tsv", ["sentence\tlabel", "a\t1", "b\t0"])
    assert read_glue_tsv(path, "sst2", label_names=["1", "0"]).labels.tolist() == [0, 1]


def test_missing_file_and_unknown_task(tmp_path):
    with pytest.raises(DataError, match="absent.tsv.*not found"):
        read_glue_tsv(tmp_path / "absent.tsv", "sst2")
    with pytest.raises(DataError, match="supported tasks: sst2, cola, mrpc, rte, qnli, mnli"):
        read_glue_tsv(tmp_path / "absent.tsv", "squad")


def test_task_table():
    assert GLUE_TASKS["sst2"].metric_names == ("accuracy",)
    assert GLUE_TASKS["mrpc"].metric_names == ("accuracy", "f1")
    assert GLUE_TASKS["cola"].metric_names == ("mcc",)
    assert [GLUE_TASKS[t].is_pair for t in ("sst2", "cola", "mrpc", "rte", "qnli", "mnli")] == [
        False,
        False,
        True,
        True,
        True,
        True,
    ]
    assert GLUE_TASKS["mnli"].label_names == ("contradiction", "entailment", "neutral")
