"""Per-epoch losses and metrics in `history.csv`, rewritten atomically after every epoch."""

import csv
import io
from pathlib import Path

import keras

from tfcompress.atomic_write import write_text_atomic


class HistoryCsv(keras.callbacks.Callback):
    """Appends one row per epoch with exactly the logged values (Keras's CSVLogger adds
    `val_*` columns of NA when there is no validation data) and rewrites the file
    atomically, so a kill never leaves half a row for the resumed run to append to.

    Runs before the epoch backup (see `fit_in_run`): a kill between the two leaves a row
    for an epoch the backup does not hold yet, so the resumed run trains that epoch again
    and its row replaces the earlier one instead of following it.

    Args:
        path: the CSV file; rows already there (an interrupted run's) are kept up to the
            epoch being written.
    """

    def __init__(self, path):
        super().__init__()
        self.path = Path(path)

    def on_epoch_end(self, epoch, logs=None):
        rows = [row for row in read_rows(self.path) if int(row["epoch"]) < epoch]
        rows.append({"epoch": epoch, **{k: float(v) for k, v in (logs or {}).items()}})
        columns = list(dict.fromkeys(key for row in rows for key in row))
        out = io.StringIO()
        writer = csv.DictWriter(out, columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        write_text_atomic(self.path, out.getvalue())


def read_rows(path):
    """The rows of a history CSV as dicts of strings ([] before the first epoch)."""
    path = Path(path)
    return list(csv.DictReader(io.StringIO(path.read_text()))) if path.is_file() else []


def last_logged(path, key):
    """`key`'s value in the last row of a history CSV (all sessions of a resumed run), or
    None when there is no row or the column is empty."""
    rows = read_rows(path)
    value = rows[-1].get(key) if rows else None
    return float(value) if value else None
