"""The `tfcompress` command: one entry point, one subcommand per stage."""

import argparse
import contextlib
import os
import sys
import warnings
from pathlib import Path

import yaml

from tfcompress import __version__
from tfcompress.errors import ConfigError, TfcompressError
from tfcompress.export import DEFAULT_RANGE_QUANTILE, EXPORT_MODES, check_range_quantile

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


def _recipe_overrides(args):
    """--set pairs and --output-dir as dotted recipe overrides."""
    overrides = _parse_overrides(args.set)
    if args.output_dir:
        overrides["output_dir"] = args.output_dir
    return overrides


def _print_table(title, rows, footer):
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title)
    table.add_column("metric")
    table.add_column("value", justify="right")
    for name, value in rows:
        table.add_row(name, value)
    console = Console()
    console.print(table)
    console.print(footer)


def _print_results(title, summary, run_dir):
    rows = [(f"eval {name}", f"{value:.4f}") for name, value in summary["eval"].items()]
    rows += [
        ("eval examples", str(summary["eval_examples"])),
        ("train examples", str(summary["train"]["examples"])),
        ("train wall time (s)", f"{summary['train']['wall_time_s']:.1f}"),
        ("parameters", f"{summary['model']['parameters']:,}"),
        ("float32 weights (MB)", f"{summary['model']['float32_mb']:.2f}"),
    ]
    footer = f"run directory: {run_dir} (config.yaml, metrics.json, model.keras, history.csv)"
    _print_table(title, rows, footer)


def _run_recipe(args, load_config, run):
    overrides = _recipe_overrides(args)
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


def cmd_quantize(args):
    from tfcompress.distill.quantize_run_config import load_quantize_config
    from tfcompress.distill.run_quantize import run_quantize

    _run_recipe(args, load_quantize_config, run_quantize)


def cmd_pretrain(args):
    from tfcompress.distill.pretrain_run_config import load_pretrain_config
    from tfcompress.distill.run_pretrain import run_pretrain

    overrides = _recipe_overrides(args)
    config = load_pretrain_config(args.config, overrides)
    summary = run_pretrain(config, overwrite=args.overwrite)
    train = summary["train"]
    rows = [(f"held-out {name}", f"{value:.4f}") for name, value in summary["eval"].items()]
    rows += [
        ("steps (this session / run)", f"{train['steps_this_session']:,} / {train['steps']:,}"),
        ("sequences (this session)", f"{train['sequences_this_session']:,}"),
        ("train wall time (s)", f"{train['wall_time_s']:.1f}"),
        ("encoder parameters", f"{summary['model']['encoder_parameters']:,}"),
    ]
    footer = f"run directory: {config.output_dir} (config.yaml, metrics.json, model.keras)"
    _print_table(f"pretrain ({summary['stage']}): {args.config}", rows, footer)


def cmd_check(args):
    import time

    from tfcompress.recipes import prepare_recipe

    started = time.perf_counter()
    overrides = _recipe_overrides(args)
    plan = prepare_recipe(args.config, overrides, overwrite=args.overwrite).plan
    rows = [*plan.rows, ("checked in (s)", f"{time.perf_counter() - started:.1f}")]
    _print_table(f"check ({plan.title}): {args.config}", rows, "ok: nothing was written")
    plan.print_warnings(sys.stdout)


def cmd_vocab(args):
    from tfcompress.data.vocabulary import learn_vocabulary_from_files, vocabulary_overlap

    tokens = learn_vocabulary_from_files(
        args.corpus, args.size, args.output, max_lines=args.max_lines, lower_case=not args.cased
    )
    print(f"wrote {args.output}: {len(tokens):,} tokens (asked for {args.size:,})")
    if args.compare:
        shared, other = vocabulary_overlap(tokens, args.compare)
        print(
            f"overlap with {args.compare}: {shared:,} of {len(tokens):,} tokens "
            f"({shared / len(tokens):.1%}) are among its {other:,}"
        )


def cmd_demo(args):
    from rich.console import Console
    from rich.table import Table

    from tfcompress.demo import run_demo

    console = Console()
    with _stage_progress(console) as on_stage:
        teacher, student = run_demo(
            args.output_dir,
            quick=args.quick,
            overwrite=args.overwrite,
            announce=lambda line: console.print(line, style="bold", highlight=False),
            on_stage=on_stage,
        )
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
    console.print(table)
    console.print(_export_table(student["export"]))
    console.print(
        f"runs: {args.output_dir}/teacher and {args.output_dir}/student "
        "(config.yaml, metrics.json, model.keras, history.csv, export/)"
    )


@contextlib.contextmanager
def _stage_progress(console):
    """An `on_stage(text)` that prints each stage as a line (kept in logs) and shows it
    beside a spinner while it runs (on a terminal)."""
    with console.status("", spinner="dots") as status:

        def on_stage(text):
            console.print(f"      {text}", style="dim", highlight=False)
            status.update(f"{text} …")

        yield on_stage


def _export_table(reports):
    """The student's TFLite exports side by side: size, latency, parity, task metrics."""
    from rich.table import Table

    first = next(iter(reports.values()))
    table = Table(title="student on TFLite (batch 1, 1 thread)")
    table.add_column("")
    for mode in reports:
        table.add_column(mode, justify="right")

    def row(label, value):
        table.add_row(label, *(value(report) for report in reports.values()))

    row("size (MB)", lambda r: f"{r['size_bytes'] / 2**20:.2f}")
    row("eval sentences p50 (ms)", lambda r: f"{r['sentence_latency']['p50_ms']:.3f}")
    row("eval sentences p90 (ms)", lambda r: f"{r['sentence_latency']['p90_ms']:.3f}")
    row(
        f"synthetic ids, seq {first['sequence_length']}, p50 (ms)",
        lambda r: f"{r['latency']['results'][0]['p50_ms']:.3f}" if r.get("latency") else "—",
    )
    for name in first["parity"]["argmax_agreement"]:
        row(f"{name} agreement", lambda r, n=name: f"{r['parity']['argmax_agreement'][n]:.4f}")
    for name in first["accuracy"]:
        row(f"eval {name}", lambda r, n=name: f"{r['accuracy'][n]:.4f}")
    return table


def cmd_report(args):
    from rich.console import Console

    from tfcompress.reporting import build_report
    from tfcompress.reporting.console import print_report

    console = Console()
    with console.status("", spinner="dots") as status:
        result = build_report(
            args.run_dirs,
            args.output_dir,
            threads=args.threads,
            metric=args.metric,
            measure=args.measure,
            on_measure=lambda path: status.update(f"timing {path} ({args.threads} thread(s)) …"),
        )
    for path in result["timed"]:
        print(f"timed {path}: latency kept in its export JSON")  # unwrapped, like the paths below
    print_report(result, args.threads)


def cmd_export(args):
    from rich.console import Console

    from tfcompress.export.run_export import export_run

    console = Console()
    for mode in args.mode:
        output = args.output if len(args.mode) == 1 else None
        float_ops = None if args.float_ops is None else [o for o in args.float_ops.split(",") if o]
        with _stage_progress(console) as on_stage:
            report = export_run(
                args.run_dir,
                mode,
                output=output,
                representative_examples=args.calibration_examples,
                verify_examples=args.verify_examples,
                min_agreement=args.min_agreement,
                max_abs_diff=args.max_abs_diff,
                float_ops=float_ops,
                equalize=not args.no_equalize,
                range_quantile=args.range_quantile,
                strings_in=args.strings_in,
                buckets=_buckets(args.buckets),
                split_tokenizer=args.split_tokenizer,
                timing=not args.no_timing,
                weight_bits=args.weight_bits,
                on_stage=on_stage,
            )
        _print_export(report)
        if args.profile:
            _print_profile(report["tflite_path"], args.threads)


def cmd_preset(args):
    from tfcompress.models.keras_hub_bert import preset_parity, save_keras_hub_preset
    from tfcompress.run_directory import check_writable
    from tfcompress.tasks import FinishedRun

    run = FinishedRun.read(args.run_dir)
    output = Path(args.output)
    if output.exists() and (not output.is_dir() or any(output.iterdir())):
        raise ConfigError(f"--output {output} exists and is not an empty directory; name a new one")
    check_writable(output.parent, "--output")
    encoder = run.load_model().encoder
    preset = save_keras_hub_preset(
        encoder,
        output,
        run.tokenizer.vocab,
        lower_case=run.tokenizer.lower_case,
        allow_gelu_change=args.allow_gelu_change,
    )
    runtime = run.task_runtime()
    batch = next(iter(runtime.eval_dataset()))[0]
    difference = preset_parity(encoder, preset, batch)
    print(f"wrote {preset}: keras_hub.models.BertBackbone.from_preset({str(preset)!r})")
    print(
        f"largest difference to the run's encoder on {len(batch['token_ids'])} eval examples: "
        f"{difference:.3g}"
    )


def _buckets(values):
    """--buckets: None when absent, the default lengths when given without values, "auto"."""
    from tfcompress.export.length_buckets import DEFAULT_BUCKETS
    from tfcompress.export.run_export import AUTO_BUCKETS

    if values is None:
        return None
    if AUTO_BUCKETS in values:
        if len(values) > 1:
            raise ConfigError(f"--buckets {AUTO_BUCKETS} fits the lengths itself: give no others")
        return AUTO_BUCKETS
    return tuple(values) or DEFAULT_BUCKETS


def _print_export(report):
    from rich.console import Console
    from rich.table import Table

    parity = report["parity"]
    table = Table(title=f"export {report['mode']}: {report['tflite_path']}")
    table.add_column("")
    table.add_column("value", justify="right")
    table.add_row("size (MB)", f"{report['size_bytes'] / 2**20:.2f}")
    if report.get("packed_size_bytes"):
        table.add_row("packed at trained bits (MB)", f"{report['packed_size_bytes'] / 2**20:.2f}")
    if report.get("weight_storage"):
        storage = report["weight_storage"]
        table.add_row(
            "weights stored packed",
            f"{storage['int4_buffers']} INT4, {storage['int2_buffers']} INT2 "
            f"(−{storage['bytes_saved'] / 2**20:.2f} MB)",
        )
    table.add_row("float compute ops", ", ".join(report["float_ops"]) or "none")
    for name, agreement in parity["argmax_agreement"].items():
        table.add_row(f"{name} argmax agreement", f"{agreement:.4f}")
        table.add_row(f"{name} max abs diff", f"{parity['max_abs_diff'][name]:.3g}")
        flips = parity["flip_margins"][name]
        if flips:
            table.add_row(
                f"{name} disagreements: Keras margin",
                f"max {max(flips):.3g} (median of all {parity['median_margin'][name]:.3g})",
            )
    for name, value in report.get("accuracy", {}).items():
        keras_value = report["keras_accuracy"][name]
        table.add_row(f"{name} TFLite / Keras", f"{value:.4f} / {keras_value:.4f}")
    table.add_row("verification examples", str(parity["examples"]))
    for length, numbers in parity.get("by_bucket", {}).items():
        agreement = min(numbers["argmax_agreement"].values())
        table.add_row(
            f"length {length} bucket", f"{numbers['examples']} examples, agreement {agreement:.4f}"
        )
    for label, value in _latency_rows(report):
        table.add_row(label, value)
    for path in report.get("removed_stale", ()):
        table.add_row("removed (measured the replaced file)", path)
    Console().print(table)


def _latency_rows(report):
    """p50 / p90 of an export's timings, as `export_run(timing=True)` recorded them."""
    rows = []
    if report.get("latency"):
        result = report["latency"]["results"][0]
        strings_in = "text" in report.get("inputs", ())
        inputs = "a sample sentence" if strings_in else "synthetic ids, full length"
        rows.append(
            (f"p50 / p90 (ms), {inputs}", f"{result['p50_ms']:.3f} / {result['p90_ms']:.3f}")
        )
    if report.get("sentence_latency"):
        timed = report["sentence_latency"]
        rows.append(
            (
                f"p50 / p90 (ms), {timed['sentences']} eval sentences",
                f"{timed['p50_ms']:.3f} / {timed['p90_ms']:.3f}",
            )
        )
    return rows


def _print_profile(path, threads):
    from tfcompress.atomic_write import write_text_atomic
    from tfcompress.export.op_profile import format_profile, profile_ops

    profile = format_profile(profile_ops(Path(path).read_bytes(), num_threads=threads))
    write_text_atomic(Path(path).with_suffix(".profile.md"), profile + "\n")
    print(profile)


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


def _range_quantile(text):
    try:
        return check_range_quantile(float(text))
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _bucket_length(text):
    from tfcompress.export.run_export import AUTO_BUCKETS

    if text == AUTO_BUCKETS:
        return text
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 2:
        raise argparse.ArgumentTypeError(f"{text!r} is not a sequence length of at least 2")
    return value


def _command(sub, name, help):
    """A subcommand whose `--help` opens with the line `tfcompress --help` lists it by."""
    return sub.add_parser(name, help=help, description=help[0].upper() + help[1:] + ".")


def build_parser():
    parser = argparse.ArgumentParser(
        prog="tfcompress",
        description=__doc__,
        epilog="--verbose (anywhere on the line) shows TensorFlow's own log lines.",
    )
    parser.add_argument("--version", action="version", version=f"tfcompress {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    finetune = _command(sub, "finetune", help="fine-tune a teacher or train a model from scratch")
    _add_run_arguments(finetune)
    finetune.set_defaults(func=cmd_finetune)

    distill = _command(sub, "distill", help="distil a finetune run (teacher) into a student")
    _add_run_arguments(distill)
    distill.set_defaults(func=cmd_distill)

    quantize = _command(
        sub, "quantize", help="KDLSQ: train a finished run's LSQ-quantized copy (W-E-A bits)"
    )
    _add_run_arguments(quantize)
    quantize.set_defaults(func=cmd_quantize)

    pretrain = _command(
        sub, "pretrain", help="masked-LM pretraining: mixed-vocabulary stage I, stage II or NoKD"
    )
    _add_run_arguments(pretrain)
    pretrain.set_defaults(func=cmd_pretrain)

    check = _command(
        sub,
        "check",
        help="check a recipe without training: data, labels, truncation, models, output_dir",
    )
    _add_run_arguments(check)
    check.set_defaults(func=cmd_check)

    vocab = _command(sub, "vocab", help="learn a WordPiece vocabulary from text files")
    vocab.add_argument(
        "--corpus", nargs="+", required=True, help="text files, one paragraph per line"
    )
    vocab.add_argument("--size", type=int, default=5000, help="tokens wanted (default 5000)")
    vocab.add_argument("--output", required=True, help="the vocab.txt to write")
    vocab.add_argument("--max-lines", type=int, help="read at most this many lines")
    vocab.add_argument("--cased", action="store_true", help="keep case (default: lower-case)")
    vocab.add_argument("--compare", help="a vocab.txt to report the overlap with (the teacher's)")
    vocab.set_defaults(func=cmd_vocab)

    demo = _command(sub, "demo", help="the end-to-end main job on embedded synthetic data")
    demo.add_argument("--output-dir", default="runs/demo")
    demo.add_argument("--quick", action="store_true", help="a smaller run, for smoke tests")
    demo.add_argument(
        "--overwrite", action="store_true", help="retrain both stages, replacing earlier runs"
    )
    demo.set_defaults(func=cmd_demo)

    report = _command(sub, "report", help="accuracy vs size and latency of runs and exports")
    report.add_argument("run_dirs", nargs="+", metavar="RUN_DIR", help="finished run directories")
    report.add_argument("--output-dir", default="reports", help="where report.md/.png go")
    report.add_argument("--threads", type=int, default=1, help="latency at this thread count")
    report.add_argument("--metric", help="score to plot (default: accuracy, else intent_accuracy)")
    report.add_argument(
        "--measure",
        action="store_true",
        help="time exports that have no latency at --threads on this host first (kept in their JSON)",
    )
    report.set_defaults(func=cmd_report)

    export = _command(sub, "export", help="convert a run's model to TFLite and verify it")
    export.add_argument("run_dir", metavar="RUN_DIR", help="a finished finetune/distill run")
    export.add_argument(
        "--mode", nargs="+", default=["int8"], choices=EXPORT_MODES, help="one or more modes"
    )
    export.add_argument("--output", help="the .tflite path (default RUN_DIR/export/MODE.tflite)")
    export.add_argument(
        "--calibration-examples", type=int, default=512, help="training examples for int ranges"
    )
    export.add_argument(
        "--verify-examples", type=int, default=256, help="eval examples to check (0: all)"
    )
    export.add_argument("--min-agreement", type=float, help="argmax agreement needed to pass")
    export.add_argument("--max-abs-diff", type=float, help="largest logit difference allowed")
    export.add_argument(
        "--float-ops",
        help="int8: comma-separated TFLite ops kept in float ('' for none: every op int8)",
    )
    export.add_argument(
        "--range-quantile",
        type=_range_quantile,
        default=DEFAULT_RANGE_QUANTILE,
        help="int8: activation range = this quantile of per-example extremes (1: min/max)",
    )
    export.add_argument(
        "--no-equalize",
        action="store_true",
        help="int8: skip output-channel equalization of FULLY_CONNECTED layers",
    )
    export.add_argument(
        "--strings-in",
        action="store_true",
        help="export the strings-in model (tokenizer in the graph): MODE_text.tflite",
    )
    export.add_argument(
        "--split-tokenizer",
        action="store_true",
        help="with --strings-in: the tokenizer as its own signature (`tokenize`), run before the "
        "encoder's, so the encoder is not re-prepared per text: MODE_text_split[_buckets].tflite",
    )
    export.add_argument(
        "--buckets",
        nargs="*",
        type=_bucket_length,
        metavar="LENGTH",
        help="also hold these shorter sequence lengths (none given: 16 32 64; auto: the three "
        "that minimize the mean padded length of the calibration examples); each input runs "
        "at the shortest that fits: MODE[_text]_buckets.tflite",
    )
    export.add_argument(
        "--weight-bits",
        type=int,
        choices=(2, 4),
        help="qat: store the FULLY_CONNECTED weights trained at this many bits or fewer packed "
        "(INT4 / INT2 tensors LiteRT runs; the word table stays int8): MODE_wBITS.tflite",
    )
    export.add_argument(
        "--no-timing",
        action="store_true",
        help="skip timing the export on this host (p50/p90, 1 thread, a few seconds)",
    )
    export.add_argument("--profile", action="store_true", help="per-op latency profile")
    export.add_argument("--threads", type=int, default=1, help="threads for --profile")
    export.set_defaults(func=cmd_export)

    preset = _command(sub, "preset", help="save a run's encoder as a keras-hub BertBackbone preset")
    preset.add_argument("run_dir", metavar="RUN_DIR", help="a finished finetune/distill run")
    preset.add_argument("--output", required=True, help="the preset directory to write")
    preset.add_argument(
        "--allow-gelu-change",
        action="store_true",
        help="save an exact-GELU encoder anyway (keras-hub runs the tanh GELU)",
    )
    preset.set_defaults(func=cmd_preset)
    return parser


def main(argv=None):
    """The command, as called in-process (tests); `run` is what the installed script runs."""
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


def run():
    """The `tfcompress` script: TensorFlow's C++ start-up lines hidden unless --verbose."""
    argv = sys.argv[1:]
    if "--verbose" in argv:
        argv.remove("--verbose")
    else:
        from tfcompress.native_logs import hide_native_logs

        hide_native_logs()
        warnings.filterwarnings("ignore", message=".*tf.lite.Interpreter is deprecated")
    return main(argv)


if __name__ == "__main__":
    sys.exit(run())
