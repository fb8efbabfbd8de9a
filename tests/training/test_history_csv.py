import csv

from tfcompress.training.history_csv import HistoryCsv, last_logged


def _read(path):
    return list(csv.DictReader(path.open()))


def test_one_row_per_epoch_with_only_the_logged_columns(tmp_path):
    path = tmp_path / "history.csv"
    history = HistoryCsv(path)
    history.on_epoch_end(0, {"loss": 1.5, "accuracy": 0.25})
    history.on_epoch_end(1, {"loss": 1.0, "accuracy": 0.5})
    rows = _read(path)
    assert list(rows[0]) == ["epoch", "loss", "accuracy"]  # no val_* columns of NA
    assert [(r["epoch"], float(r["loss"])) for r in rows] == [("0", 1.5), ("1", 1.0)]


def test_a_resumed_run_appends_to_the_rows_already_there(tmp_path):
    path = tmp_path / "history.csv"
    HistoryCsv(path).on_epoch_end(0, {"loss": 2.0})
    HistoryCsv(path).on_epoch_end(1, {"loss": 1.0, "kd_loss": 0.5})  # a new process
    rows = _read(path)
    assert [r["epoch"] for r in rows] == ["0", "1"]
    assert rows[0]["kd_loss"] == "" and rows[1]["kd_loss"] == "0.5"


def test_an_epoch_written_again_replaces_its_row_and_the_rows_after_it(tmp_path):
    path = tmp_path / "history.csv"
    for epoch, loss in [(0, 3.0), (1, 2.0), (2, 1.0)]:
        HistoryCsv(path).on_epoch_end(epoch, {"loss": loss})
    HistoryCsv(path).on_epoch_end(1, {"loss": 1.5})  # resumed from the epoch-1 backup
    assert [(r["epoch"], r["loss"]) for r in _read(path)] == [("0", "3.0"), ("1", "1.5")]


def test_last_logged_reads_the_newest_row_across_sessions(tmp_path):
    path = tmp_path / "history.csv"
    assert last_logged(path, "loss") is None  # no epoch yet
    HistoryCsv(path).on_epoch_end(0, {"loss": 2.0, "kd_loss": 0.5})
    HistoryCsv(path).on_epoch_end(1, {"loss": 1.25})  # a resumed session without kd_loss
    assert last_logged(path, "loss") == 1.25
    assert last_logged(path, "kd_loss") is None
