"""Reading line-oriented UTF-8 files with errors that name the file and the fix."""

from pathlib import Path

from tfcompress.errors import DataError

# Far above any sentence or paragraph (10,000 words is ~60k characters): a longer line is a
# file without line breaks or not text at all, and would stall tokenization.
MAX_LINE_CHARS = 200_000


def read_lines(path, what, missing_hint):
    """The lines of a UTF-8 file (a byte-order mark is dropped), without line endings ("\\n"
    or "\\r\\n") and without a final empty line.

    Splits on "\\n" only: str.splitlines also breaks on U+2028 and friends, which
    can occur inside an utterance or be a vocabulary token.
    """
    path = Path(path)
    if path.is_dir():
        raise DataError(f"{path}: is a directory; expected a {what} ({missing_hint})")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise DataError(f"{path}: {what} not found; {missing_hint}") from None
    except (OSError, UnicodeDecodeError) as e:
        raise DataError(f"{path}: cannot read {what} ({e}); it must be a UTF-8 text file") from None
    lines = [line.removesuffix("\r") for line in text.split("\n")]
    _check_line_lengths(path, lines)
    return lines[:-1] if lines and lines[-1] == "" else lines


def _check_line_lengths(path, lines):
    for lineno, line in enumerate(lines, start=1):
        if len(line) > MAX_LINE_CHARS:
            raise DataError(
                f"{path}:{lineno}: line of {len(line):,} characters (limit {MAX_LINE_CHARS:,}); "
                "is the file missing its line breaks or not a text file?"
            )


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
