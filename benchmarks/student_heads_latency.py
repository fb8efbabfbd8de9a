"""Where the L6-H96 student's int8 time goes at the SNIPS length, and what its head count buys.

The mixed-vocabulary target asks for a student 10× faster than the MiniLM SNIPS teacher's
int8 export. Its weight matmuls scale with the width, but attention (QKᵀ, PV, softmax, the
mask add) scales with heads × length², so at 96 wide the head count is the one design choice
left that moves time without moving the width. This script builds joint intent + slot models
with random weights (latency does not depend on them; seed 0) and SNIPS's label counts:

  student A=4 / A=2 / A=1   L6-H96, FFN 384, the 4,752-token student vocabulary's size,
                            heads of 24 / 48 / 96
  MiniLM teacher shape      L6-H384, 12 heads, FFN 1536, 30,522 tokens

exports each with our default int8 (`export_tflite(..., "int8")`: int8 FULLY_CONNECTED,
float islands), calibrated on 32 random-token inputs, and times them at 48 tokens in
interleaved rounds (1 thread, LiteRT + XNNPACK, batch 1; the order rotated each round; each
model's p50 is the median of its rounds' p50s). Also each student's per-op profile
(`tfcompress.export.op_profile`), summed by op kind.

    python benchmarks/student_heads_latency.py --out docs/runs/student_heads_latency/metrics.json
"""

import argparse
import os
import statistics
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parent))

from latency_vs_peers import calibration  # noqa: E402
from sentence_latency import record_header  # noqa: E402

SNIPS_INTENTS, SNIPS_SLOT_TAGS = 7, 72
# name → (vocabulary, hidden, heads, FFN)
SHAPES = {
    "student A=4": (4752, 96, 4, 384),
    "student A=2": (4752, 96, 2, 384),
    "student A=1": (4752, 96, 1, 384),
    "MiniLM teacher shape": (30522, 384, 12, 1536),
}


def build(vocab, hidden, heads, ffn, seq):
    import keras

    from tfcompress.models import Encoder, EncoderConfig, build_intent_slot_model

    keras.utils.set_random_seed(0)
    config = EncoderConfig(
        vocab_size=vocab,
        hidden_size=hidden,
        num_layers=6,
        num_heads=heads,
        intermediate_size=ffn,
        max_length=512,
    )
    return build_intent_slot_model(
        Encoder(config), SNIPS_INTENTS, SNIPS_SLOT_TAGS, sequence_length=seq
    )


def export(name, shape, seq, directory):
    from tfcompress.export.tflite_export import export_tflite

    path = Path(directory) / f"{name.replace(' ', '_').replace('=', '')}.tflite"
    export_tflite(
        build(*shape, seq),
        path,
        "int8",
        sequence_length=seq,
        representative_inputs=calibration(seq, vocab=shape[0]),
    )
    return path


def interleaved_p50s(paths, rounds, runs):
    """{name: [p50 ms of each round]}, the model order rotated each round."""
    from tfcompress.latency.host_timing import measure_latency

    names = list(paths)
    p50s = {name: [] for name in names}
    for r in range(rounds):
        shift = r % len(names)
        for name in names[shift:] + names[:shift]:
            result = measure_latency(paths[name], threads=(1,), runs=runs, warmup=20)
            p50s[name].append(result["results"][0]["p50_ms"])
    return p50s


def op_kinds(path, runs):
    from tfcompress.export.op_profile import profile_ops, summarize_by_op

    profile = profile_ops(path.read_bytes(), num_threads=1, runs=runs)
    return {
        "sum_ms": round(profile["total_ms"], 4),
        "by_op": {row["op"]: round(row["ms"], 4) for row in summarize_by_op(profile)},
    }


def markdown(record):
    teacher = record["p50_ms"]["MiniLM teacher shape"]
    lines = [
        f"int8, {record['sequence_length']} tokens, 1 thread, p50 over {record['rounds']} "
        f"interleaved rounds of {record['runs']} invokes; load average "
        f"{record['load_average'][0]:.2f} at the start, {record['load_average_at_end'][0]:.2f} at the end",
        "",
        "| model | p50 ms | teacher shape / model | attention ms (BATCH_MATMUL + SOFTMAX) "
        "| FULLY_CONNECTED ms | per-op sum ms |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name, p50 in record["p50_ms"].items():
        ops = record["profiles"].get(name)
        attention = (
            f"{ops['by_op'].get('BATCH_MATMUL', 0) + ops['by_op'].get('SOFTMAX', 0):.3f}"
            if ops
            else "—"
        )
        lines.append(
            f"| {name} | {p50:.3f} | {teacher / p50:.1f}× | {attention} | "
            f"{ops['by_op'].get('FULLY_CONNECTED', 0):.3f} | {ops['sum_ms']:.3f} |"
            if ops
            else f"| {name} | {p50:.3f} | {teacher / p50:.1f}× | — | — | — |"
        )
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seq", type=int, default=48, help="SNIPS recipes' length")
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--runs", type=int, default=200, help="invokes per round")
    parser.add_argument("--profile-runs", type=int, default=100, help="invokes per op kind")
    parser.add_argument("--out", help="write the JSON record here")
    args = parser.parse_args(argv)

    record = {
        **record_header("student_heads_latency.py"),
        "sequence_length": args.seq,
        "rounds": args.rounds,
        "runs": args.runs,
        "shapes": {
            name: dict(zip(("vocab", "hidden", "heads", "ffn"), s)) for name, s in SHAPES.items()
        },
    }
    with tempfile.TemporaryDirectory(prefix="heads_latency_") as tmp:
        paths = {name: export(name, shape, args.seq, tmp) for name, shape in SHAPES.items()}
        record["size_bytes"] = {name: path.stat().st_size for name, path in paths.items()}
        rounds = interleaved_p50s(paths, args.rounds, args.runs)
        record["p50_ms_per_round"] = rounds
        record["p50_ms"] = {name: statistics.median(values) for name, values in rounds.items()}
        record["profiles"] = {
            name: op_kinds(path, args.profile_runs)
            for name, path in paths.items()
            if name.startswith("student")
        }
    record["load_average_at_end"] = os.getloadavg()
    print(markdown(record))
    if args.out:
        from tfcompress.atomic_write import write_json_atomic

        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        write_json_atomic(args.out, record)


if __name__ == "__main__":
    main()
