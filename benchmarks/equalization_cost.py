"""What the equalization MULs of the int8 export cost: the same run exported with and without
`--no-equalize`, timed alternately on one thread.

Equalization (tfcompress/export/calibration.py) narrows the widest output channels of some
FULLY_CONNECTED layers and puts a float MUL after each; this measures that MUL's price. Both
models are exported by `export_run` (the default 512 calibration examples), then timed with
LiteRT (`measure_latency`, 1 thread, `--runs` calls each) in `--rounds` alternating rounds;
the record holds every round's p50, their medians, the ratio and the load average.

Usage (repository root; needs the Pea-KD MRPC SPS-2 student, benchmarks/peakd_ablation.sh):
  python benchmarks/equalization_cost.py runs/peakd/mrpc_sps2 --rounds 3 --runs 200 \
      --out docs/runs/equalization_cost/mrpc_sps2.json
"""

import argparse
import json
import os
import statistics
import tempfile
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

VARIANTS = {"equalized": True, "not_equalized": False}


def export_variants(run_dir, directory):
    """{variant: (tflite path, its export report)}."""
    from tfcompress.export.run_export import export_run

    exported = {}
    for name, equalize in VARIANTS.items():
        path = Path(directory) / f"{name}.tflite"
        report = export_run(
            run_dir, "int8", output=path, verify_examples=64, timing=False, equalize=equalize
        )
        exported[name] = (path, report)
    return exported


def p50_ms(path, runs):
    from tfcompress.latency import measure_latency

    return measure_latency(path, threads=(1,), runs=runs, warmup=20)["results"][0]["p50_ms"]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("run_dir")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--runs", type=int, default=200, help="timed calls per model per round")
    parser.add_argument("--out", help="write the JSON record here")
    args = parser.parse_args()

    from tfcompress.atomic_write import write_json_atomic
    from tfcompress.latency.provenance import describe_device, utc_now

    with tempfile.TemporaryDirectory(prefix="equalization_cost_") as tmp:
        exported = export_variants(args.run_dir, tmp)
        load_before = os.getloadavg()
        started = utc_now()
        rounds = {name: [] for name in VARIANTS}
        for index in range(args.rounds):
            # Alternate the order so neither model always runs first in a round.
            order = list(VARIANTS) if index % 2 == 0 else list(reversed(VARIANTS))
            for name in order:
                rounds[name].append(p50_ms(exported[name][0], args.runs))
        record = {
            "run_dir": args.run_dir,
            "device": describe_device(),
            "started": started,
            "load_average_before": load_before,
            "load_average_after": os.getloadavg(),
            "runs_per_round": args.runs,
            "p50_ms_per_round": rounds,
            "p50_ms_median": {name: statistics.median(v) for name, v in rounds.items()},
            "mul_ops": {
                name: sum(o["count"] for o in report["ops"] if o["op"] == "MUL")
                for name, (_, report) in exported.items()
            },
            "size_bytes": {name: report["size_bytes"] for name, (_, report) in exported.items()},
            "agreement": {
                name: report["parity"]["argmax_agreement"] for name, (_, report) in exported.items()
            },
        }
    medians = record["p50_ms_median"]
    record["equalized_over_not"] = medians["equalized"] / medians["not_equalized"]
    if args.out:
        write_json_atomic(args.out, record)
    print(json.dumps(record, indent=2))


if __name__ == "__main__":
    main()
