"""`python -m tfcompress`, the same as the `tfcompress` script."""

import sys

from tfcompress.cli import run

sys.exit(run())
