"""Reader for SNIPS/ATIS-style intent + slot directories (seq.in, seq.out, label)."""

import os
import re
from pathlib import Path

from tfcompress.data.task_data import IntentSlotData
from tfcompress.data.text_files import read_lines
from tfcompress.errors import DataError

FILES = ("seq.in", "seq.out", "label")
_IOB_TAG = re.compile(r"O|[BI]-\S+")


def read_intent_slot_dir(path: str | os.PathLike, skip_malformed: bool = False) -> IntentSlotData:
    """Read one split directory: whitespace-split words, one IOB tag per word, one intent per line.

    Files must have equal line counts (always an error: the alignment is lost). A bad line
    (word/tag count mismatch, non-IOB tag, empty utterance or intent) raises DataError naming
    file and line, or with `skip_malformed` is dropped and counted in `skipped`.
    """
    path = Path(path)
    if not path.is_dir():
        raise DataError(
            f"{path}: intent/slot data directory not found; it must contain {', '.join(FILES)}"
        )
    seq_in, seq_out, labels = (_read_lines(path / name) for name in FILES)
    _check_line_counts(path, seq_in, seq_out, labels)
    data = IntentSlotData(words=[], tags=[], intents=[])
    for lineno, (text, tag_line, intent) in enumerate(zip(seq_in, seq_out, labels), start=1):
        try:
            words, tags, intent = _parse_example(path, lineno, text, tag_line, intent)
        except DataError:
            if not skip_malformed:
                raise
            data.skipped += 1
            continue
        data.words.append(words)
        data.tags.append(tags)
        data.intents.append(intent)
    return data


def _read_lines(path: Path) -> list[str]:
    return read_lines(path, "file", f"an intent/slot directory needs {', '.join(FILES)}")


def _check_line_counts(
    path: Path, seq_in: list[str], seq_out: list[str], labels: list[str]
) -> None:
    counts = dict(zip(FILES, (len(seq_in), len(seq_out), len(labels))))
    if len(set(counts.values())) > 1:
        detail = ", ".join(f"{path / name}: {n}" for name, n in counts.items())
        raise DataError(f"line counts differ ({detail}); the three files must be line-aligned")


def _parse_example(path: Path, lineno: int, text: str, tag_line: str, intent: str):
    words, tags, intent = text.split(), tag_line.split(), intent.strip()
    where = f"{path / 'seq.out'}:{lineno}"
    if not words:
        raise DataError(
            f"{path / 'seq.in'}:{lineno}: empty utterance; remove the line from all three files"
        )
    if len(words) != len(tags):
        raise DataError(
            f"{where}: {len(tags)} tags for {len(words)} words in {path / 'seq.in'}:{lineno}; "
            f"give exactly one IOB tag per whitespace-separated word"
        )
    bad = [t for t in tags if not _IOB_TAG.fullmatch(t)]
    if bad:
        raise DataError(
            f"{where}: tag {bad[0]!r} is not IOB; tags must be 'O', 'B-<slot>' or 'I-<slot>'"
        )
    if not intent:
        raise DataError(
            f"{path / 'label'}:{lineno}: empty intent label; every line needs an intent name"
        )
    return words, tags, intent
