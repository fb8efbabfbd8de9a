"""Reading line-oriented UTF-8 files with errors that name the file and the fix."""

from pathlib import Path

from tfcompress.errors import DataError


def read_lines(path, what, missing_hint):
    """The lines of a UTF-8 file, without line endings and without a final empty line.

    Splits on "\\n" only: str.splitlines also breaks on U+2028 and friends, which
    can occur inside an utterance or be a vocabulary token.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DataError(f"{path}: {what} not found; {missing_hint}") from None
    except (OSError, UnicodeDecodeError) as e:
        raise DataError(f"{path}: cannot read {what} ({e}); it must be a UTF-8 text file") from None
    lines = [line.removesuffix("\r") for line in text.split("\n")]
    return lines[:-1] if lines and lines[-1] == "" else lines


def read_paragraphs(files):
    """Non-blank lines of corpus files (one paragraph per line); DataError for a file
    that is missing, unreadable or has no usable line."""
    paragraphs = []
    for path in files:
        lines = [
            line
            for line in read_lines(path, "corpus file", "check the corpus paths")
            if line.strip()
        ]
        if not lines:
            raise DataError(f"{path}: corpus file has no usable line (one paragraph per line)")
        paragraphs.extend(lines)
    return paragraphs
