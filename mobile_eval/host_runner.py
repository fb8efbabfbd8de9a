"""Time a .tflite on this machine with the LiteRT interpreter (or tflite-runtime).

    python mobile_eval/host_runner.py MODEL.tflite [--threads 1 2 4] [--runs 100]
        [--warmup 10] [--interpreter litert|tflite_runtime] [--real-tokens N] [--output out.json]

Prints a table and, with --output, writes the latency JSON (see mobile_eval/README.md)
atomically. User errors print one line and exit 2.
"""

import argparse
import sys
from pathlib import Path

from tfcompress.atomic_write import write_json_atomic
from tfcompress.errors import TfcompressError
from tfcompress.latency import INTERPRETERS, measure_latency, print_report, run_cli

CUSTOM_OPS = {"auto": None, "on": True, "off": False}


def build_parser():
    parser = argparse.ArgumentParser(
        prog="host_runner.py",
        description="Latency (p50/p90/p99) and memory of a .tflite on this host, per thread count.",
    )
    parser.add_argument("model", help="path to the .tflite file")
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--runs", type=int, default=100, help="timed runs per thread count")
    parser.add_argument("--warmup", type=int, default=10, help="untimed runs first")
    parser.add_argument("--interpreter", choices=INTERPRETERS, default="litert")
    parser.add_argument(
        "--custom-ops",
        choices=sorted(CUSTOM_OPS),
        default="auto",
        help="tensorflow-text kernels: auto = only when the model needs them",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed for the synthetic inputs")
    parser.add_argument(
        "--real-tokens",
        type=int,
        help="synthetic ids with this many real tokens, the rest padding (a bucketed model "
        "runs the shortest bucket that fits them); default: all real",
    )
    parser.add_argument("--output", help="write the JSON report here")
    return parser


def _check_output(output):
    """Fail before minutes of timing, not after, when --output cannot be a file."""
    if output and Path(output).is_dir():
        raise TfcompressError(f"--output {output}: is a directory, expected a .json file path")


def run(args):
    _check_output(args.output)
    report = measure_latency(
        args.model,
        threads=tuple(args.threads),
        runs=args.runs,
        warmup=args.warmup,
        interpreter=args.interpreter,
        seed=args.seed,
        custom_ops=CUSTOM_OPS[args.custom_ops],
        real_tokens=args.real_tokens,
    )
    print_report(report)
    if args.output:
        write_json_atomic(args.output, report)
        print(f"wrote {args.output}")
    return report


def main(argv=None):
    return run_cli(build_parser, run, argv)


if __name__ == "__main__":
    sys.exit(main())
