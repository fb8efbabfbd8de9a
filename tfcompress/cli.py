"""The `tfcompress` command: one entry point, one subcommand per stage."""

import argparse
import os
import sys

import yaml

from tfcompress.errors import ConfigError, TfcompressError

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def _parse_overrides(pairs):
    overrides = {}
    for pair in pairs or ():
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise ConfigError(f"--set {pair!r}: expected KEY=VALUE, e.g. training.epochs=1")
        try:
            overrides[key] = yaml.safe_load(value)
        except yaml.YAMLError:
            raise ConfigError(f"--set {pair!r}: the value is not valid YAML") from None
    return overrides


def _print_results(title, summary, run_dir):
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title)
    table.add_column("metric")
    table.add_column("value", justify="right")
    for name, value in summary["eval"].items():
        table.add_row(f"eval {name}", f"{value:.4f}")
    table.add_row("eval examples", str(summary["eval_examples"]))
    table.add_row("train examples", str(summary["train"]["examples"]))
    table.add_row("train wall time (s)", f"{summary['train']['wall_time_s']:.1f}")
    table.add_row("parameters", f"{summary['model']['parameters']:,}")
    table.add_row("float32 weights (MB)", f"{summary['model']['float32_mb']:.2f}")
    console = Console()
    console.print(table)
    console.print(f"run directory: {run_dir} (config.yaml, metrics.json, model.keras, history.csv)")


def _run_recipe(args, load_config, run):
    overrides = _parse_overrides(args.set)
    if args.output_dir:
        overrides["output_dir"] = args.output_dir
    config = load_config(args.config, overrides)
    summary = run(config, overwrite=args.overwrite)
    _print_results(f"{args.command}: {args.config}", summary, config.output_dir)


def cmd_finetune(args):
    from tfcompress.training import load_finetune_config, run_finetune

    _run_recipe(args, load_finetune_config, run_finetune)


def cmd_distill(args):
    from tfcompress.distill.distill_run_config import load_distill_config
    from tfcompress.distill.run_distill import run_distill

    _run_recipe(args, load_distill_config, run_distill)


def cmd_demo(args):
    from rich.console import Console
    from rich.table import Table

    from tfcompress.demo import run_demo

    teacher, student = run_demo(args.output_dir, quick=args.quick, overwrite=args.overwrite)
    table = Table(title="tfcompress demo: synthetic intent + slot task")
    table.add_column("")
    table.add_column("teacher", justify="right")
    table.add_column("SPS student", justify="right")
    for name in teacher["eval"]:
        table.add_row(
            f"eval {name}", f"{teacher['eval'][name]:.4f}", f"{student['eval'][name]:.4f}"
        )
    table.add_row(
        "parameters", f"{teacher['model']['parameters']:,}", f"{student['model']['parameters']:,}"
    )
    layers = teacher["model"]["encoder"]["num_layers"]
    table.add_row("layers run", str(layers), str(student["model"]["executed_layers"]))
    table.add_row(
        "train wall time (s)",
        f"{teacher['train']['wall_time_s']:.1f}",
        f"{student['train']['wall_time_s']:.1f}",
    )
    console = Console()
    console.print(table)
    console.print(
        f"runs: {args.output_dir}/teacher and {args.output_dir}/student "
        "(config.yaml, metrics.json, model.keras, history.csv)"
    )


def cmd_report(args):
    from tfcompress.reporting import build_report
    from tfcompress.reporting.console import print_report

    result = build_report(args.run_dirs, args.output_dir, threads=args.threads, metric=args.metric)
    print_report(result, args.threads)


def _add_run_arguments(parser):
    parser.add_argument("--config", required=True, help="YAML recipe (see configs/)")
    parser.add_argument("--output-dir", help="override output_dir")
    parser.add_argument(
        "--set",
        action="append",
        metavar="KEY=VALUE",
        help="override one key, e.g. --set training.epochs=1 (repeatable)",
    )
    parser.add_argument(
        "--overwrite",
        action="store_true",
        help="replace a finished or interrupted run in output_dir",
    )


def build_parser():
    parser = argparse.ArgumentParser(prog="tfcompress", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    finetune = sub.add_parser("finetune", help="fine-tune a teacher or train a model from scratch")
    _add_run_arguments(finetune)
    finetune.set_defaults(func=cmd_finetune)

    distill = sub.add_parser("distill", help="distil a finetune run (teacher) into a student")
    _add_run_arguments(distill)
    distill.set_defaults(func=cmd_distill)

    demo = sub.add_parser("demo", help="the end-to-end main job on embedded synthetic data")
    demo.add_argument("--output-dir", default="runs/demo")
    demo.add_argument("--quick", action="store_true", help="a smaller run, for smoke tests")
    demo.add_argument(
        "--overwrite", action="store_true", help="retrain both stages, replacing earlier runs"
    )
    demo.set_defaults(func=cmd_demo)

    report = sub.add_parser("report", help="accuracy vs size and latency of runs and exports")
    report.add_argument("run_dirs", nargs="+", metavar="RUN_DIR", help="finished run directories")
    report.add_argument("--output-dir", default="reports", help="where report.md/.png go")
    report.add_argument("--threads", type=int, default=1, help="latency at this thread count")
    report.add_argument("--metric", help="score to plot (default: accuracy, else intent_accuracy)")
    report.set_defaults(func=cmd_report)
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    try:
        args.func(args)
    except TfcompressError as e:
        print(f"tfcompress {args.command}: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(
            f"tfcompress {args.command}: interrupted; rerun the same command to resume",
            file=sys.stderr,
        )
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
