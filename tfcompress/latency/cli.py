"""The `main` shared by the mobile_eval scripts."""

import sys

from tfcompress.errors import TfcompressError


def run_cli(build_parser, run, argv=None) -> int:
    """Shared `main` of the mobile_eval scripts: user errors as one line, exit status 2."""
    args = build_parser().parse_args(argv)
    try:
        run(args)
    except TfcompressError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except OSError as e:
        print(f"error: {e.filename or ''}: {e.strerror or e}", file=sys.stderr)
        return 2
    return 0
