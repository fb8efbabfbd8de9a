"""Time a .tflite on an Android phone with LiteRT's `benchmark_model`, over adb.

    python mobile_eval/android/benchmark_on_device.py MODEL.tflite \
        --benchmark-binary ~/Downloads/android_aarch64_benchmark_model \
        [--serial SERIAL] [--threads 1 2 4] [--runs 100] [--warmup 10] [--output out.json]

Pushes the binary and the model to /data/local/tmp, runs
`benchmark_model --graph=... --num_threads=N --use_xnnpack=true ...` once per thread
count through `adb shell`, keeps each raw log, and parses them into the same latency
JSON as mobile_eval/host_runner.py (see mobile_eval/README.md). The adb command lines
are built by pure functions so they can be tested without a phone.
"""

import argparse
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path, PurePosixPath

from tfcompress.atomic_write import write_json_atomic, write_text_atomic
from tfcompress.errors import TfcompressError
from tfcompress.latency import parse_benchmark_model_output, print_report, run_cli, utc_now

REMOTE_DIR = "/data/local/tmp"
REMOTE_BINARY = "benchmark_model"


class AndroidBenchmarkError(TfcompressError):
    """adb, the phone or benchmark_model failed; the message says which and how."""


# --------------------------------------------------------------------------- pure commands


def adb_prefix(adb="adb", serial=None):
    """`adb` or `adb -s SERIAL`: with several phones attached adb needs the serial."""
    return [adb, "-s", serial] if serial else [adb]


def push_command(local, remote, adb="adb", serial=None):
    return [*adb_prefix(adb, serial), "push", str(local), str(remote)]


def shell_command(words, adb="adb", serial=None):
    """`adb shell` with one quoted command string: adb joins its arguments and the phone's
    shell re-splits them, so each word is quoted here; stderr is merged into the log."""
    return [
        *adb_prefix(adb, serial),
        "shell",
        " ".join(shlex.quote(str(w)) for w in words) + " 2>&1",
    ]


def benchmark_flags(graph, threads, runs, warmup, use_xnnpack=True, peak_memory=True):
    """benchmark_model flags. It runs at least `runs` times and at least --min_secs (1 s by
    default), so the log may report more runs than asked; the JSON keeps the real count."""
    flags = [
        f"--graph={graph}",
        f"--num_threads={int(threads)}",
        f"--use_xnnpack={str(bool(use_xnnpack)).lower()}",
        f"--num_runs={int(runs)}",
        f"--warmup_runs={int(warmup)}",
    ]
    if peak_memory:
        flags.append("--report_peak_memory_footprint=true")
    return flags


def benchmark_command(
    binary,
    graph,
    threads,
    runs,
    warmup,
    *,
    adb="adb",
    serial=None,
    use_xnnpack=True,
    peak_memory=True,
):
    """The full `adb shell benchmark_model ...` command for one thread count."""
    flags = benchmark_flags(graph, threads, runs, warmup, use_xnnpack, peak_memory)
    return shell_command([binary, *flags], adb, serial)


def remote_path(local, remote_dir=REMOTE_DIR):
    return str(PurePosixPath(remote_dir) / Path(local).name)


def parse_getprop(text):
    """`adb shell getprop` prints `[key]: [value]` lines."""
    return dict(re.findall(r"^\[([^\]]+)\]: \[(.*)\]\s*$", text, flags=re.M))


def describe_android(props):
    """e.g. `Google Pixel 7 (Android 14, Tensor G2, arm64-v8a)`, from getprop values."""
    name = " ".join(props.get(k, "") for k in ("ro.product.manufacturer", "ro.product.model"))
    details = [
        f"Android {props['ro.build.version.release']}"
        if props.get("ro.build.version.release")
        else "",
        props.get("ro.soc.model") or props.get("ro.board.platform", ""),
        props.get("ro.product.cpu.abi", ""),
    ]
    details = ", ".join(d for d in details if d)
    name = name.strip() or "unknown Android device"
    return f"{name} ({details})" if details else name


def combine_reports(parsed, model, model_size_bytes, device, date):
    """One report with a result per thread count, from one parsed log per thread count."""
    return {
        "model": str(model),
        "model_size_bytes": int(model_size_bytes),
        "interpreter": "benchmark_model",
        "device": device,
        "date": date,
        "results": [report["results"][0] for report in parsed],
    }


def log_path(log_dir, model, threads):
    return Path(log_dir) / f"{Path(model).stem}_threads{int(threads)}.log"


# --------------------------------------------------------------------------- running adb


def find_adb(adb="adb"):
    """The adb executable, or a clear error: adb comes with Android platform-tools."""
    found = shutil.which(adb)
    if not found:
        raise AndroidBenchmarkError(
            f"{adb!r} not found: install Android SDK platform-tools "
            "(https://developer.android.com/tools/releases/platform-tools) and put adb on PATH, "
            "or pass --adb /path/to/adb"
        )
    return found


def run_adb(command, timeout=None):
    """Run one adb command; a non-zero exit becomes an AndroidBenchmarkError."""
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise AndroidBenchmarkError(f"timed out after {timeout} s: {shlex.join(command)}") from None
    if done.returncode != 0:
        output = " ".join((done.stderr or done.stdout or "").split())[-400:]
        raise AndroidBenchmarkError(
            f"failed (exit {done.returncode}): {shlex.join(command)}: {output}"
        )
    return done.stdout


def _run_benchmark(command, timeout):
    """Run benchmark_model; its log matters even when it fails, so keep stdout either way."""
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise AndroidBenchmarkError(f"timed out after {timeout} s: {shlex.join(command)}") from None
    return (done.stdout or "") + (done.stderr or "")


def _check_device(adb, serial):
    state = run_adb([*adb_prefix(adb, serial), "get-state"], timeout=30).strip()
    if state != "device":
        raise AndroidBenchmarkError(f"adb device state is {state!r}, expected 'device'")


def _prepare_device(args, adb):
    """Push the binary (if given) and the model; returns the remote binary and model paths."""
    binary = str(PurePosixPath(args.remote_dir) / REMOTE_BINARY)
    if args.benchmark_binary:
        run_adb(push_command(args.benchmark_binary, binary, adb, args.serial), timeout=300)
        run_adb(shell_command(["chmod", "755", binary], adb, args.serial), timeout=30)
    graph = remote_path(args.model, args.remote_dir)
    run_adb(push_command(args.model, graph, adb, args.serial), timeout=600)
    return binary, graph


def _benchmark_threads(args, adb, binary, graph, threads, device, date):
    command = benchmark_command(
        binary,
        graph,
        threads,
        args.runs,
        args.warmup,
        adb=adb,
        serial=args.serial,
        use_xnnpack=not args.no_xnnpack,
        peak_memory=not args.no_peak_memory,
    )
    text = _run_benchmark(command, args.timeout)
    log = log_path(args.log_dir, args.model, threads)
    write_text_atomic(log, text)
    try:
        return parse_benchmark_model_output(
            text, threads=threads, model=str(args.model), device=device, date=date
        )
    except TfcompressError as e:
        raise AndroidBenchmarkError(f"{threads} threads (log: {log}): {e}") from None


# --------------------------------------------------------------------------- CLI


def build_parser():
    parser = argparse.ArgumentParser(
        prog="benchmark_on_device.py",
        description="Latency and memory of a .tflite on an Android phone via benchmark_model.",
    )
    parser.add_argument("model", help="path to the .tflite file on this computer")
    parser.add_argument(
        "--benchmark-binary",
        help="local benchmark_model for the phone's ABI (e.g. android_aarch64_benchmark_model); "
        f"omit to reuse {REMOTE_DIR}/{REMOTE_BINARY} already on the phone",
    )
    parser.add_argument("--serial", help="adb serial of the phone (see `adb devices`)")
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--runs", type=int, default=100, help="minimum timed runs")
    parser.add_argument("--warmup", type=int, default=10, help="minimum warm-up runs")
    parser.add_argument("--output", help="write the JSON report here")
    parser.add_argument(
        "--log-dir", help="raw logs (default: beside --output, else ./benchmark_logs)"
    )
    parser.add_argument("--remote-dir", default=REMOTE_DIR)
    parser.add_argument("--adb", default="adb", help="adb executable")
    parser.add_argument("--timeout", type=int, default=900, help="seconds per benchmark run")
    parser.add_argument("--no-xnnpack", action="store_true", help="pass --use_xnnpack=false")
    parser.add_argument(
        "--no-peak-memory",
        action="store_true",
        help="skip --report_peak_memory_footprint (its 50 ms sampling thread may perturb timings)",
    )
    return parser


def _check_args(args):
    if not Path(args.model).is_file():
        raise AndroidBenchmarkError(f"{args.model}: no such model file")
    if args.benchmark_binary and not Path(args.benchmark_binary).is_file():
        raise AndroidBenchmarkError(f"--benchmark-binary {args.benchmark_binary}: no such file")
    if args.output and Path(args.output).is_dir():
        raise AndroidBenchmarkError(f"--output {args.output}: is a directory")
    if any(n < 1 for n in args.threads) or args.runs < 1 or args.warmup < 0:
        raise AndroidBenchmarkError("need --threads >= 1, --runs >= 1 and --warmup >= 0")
    if not args.log_dir:
        out = Path(args.output) if args.output else None
        args.log_dir = str(out.with_name(f"{out.stem}_logs") if out else Path("benchmark_logs"))


def run(args):
    _check_args(args)
    adb = find_adb(args.adb)
    _check_device(adb, args.serial)
    device = describe_android(parse_getprop(run_adb(shell_command(["getprop"], adb, args.serial))))
    binary, graph = _prepare_device(args, adb)
    date = utc_now()
    parsed = [_benchmark_threads(args, adb, binary, graph, n, device, date) for n in args.threads]
    report = combine_reports(parsed, args.model, Path(args.model).stat().st_size, device, date)
    report["log_dir"] = str(args.log_dir)
    print_report(report)
    if args.output:
        write_json_atomic(args.output, report)
        print(f"wrote {args.output}; raw logs in {args.log_dir}")
    return report


def main(argv=None):
    return run_cli(build_parser, run, argv)


if __name__ == "__main__":
    sys.exit(main())
