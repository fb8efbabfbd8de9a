"""Per-op profile of the random-weight latency model: stock full-integer vs our int8 export.

The model is benchmarks/latency_vs_peers.py's (6 layers, hidden 256, 4 heads, FFN 1024,
vocab 5,000, random weights, seed 0; latency does not depend on the weights), calibrated on
that script's 32 random-token inputs. Three exports through
`tfcompress.export.tflite_export.export_tflite`:

  full-int8             every op int8 (`float_ops=()`: the stock converter path)
  int8-partial-islands  only attention matmuls, softmax and LayerNorm's MEAN/SUB/RSQRT in float
  int8                  our default: int8 FULLY_CONNECTED, float islands, calibration passes

For each: the whole model timed with `tfcompress.latency.measure_latency` (1 thread, p50),
`tfcompress.export.op_profile.profile_ops` (every op kind cut out and timed alone, medians of
--runs invokes), aggregated by op (`summarize_by_op`) and listed per shape, with each kind's
multiply-adds counted from the graph (FULLY_CONNECTED: output elements × input width;
BATCH_MATMUL: output elements × contracted width) and its G MAC/s.

Usage (repository root; ~5 min on 2 cores):
  python benchmarks/op_profile_random.py --seq 128 --out docs/runs/op_profile_random/metrics.json
"""

import argparse
import json
import os
import re
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np  # noqa: E402

# name → float_ops (None: the default islands of tfcompress.export.converter.FLOAT_ISLAND_OPS)
EXPORTS = {
    "full-int8": (),
    # attention matmuls, softmax and LayerNorm's own ops in float; MUL/ADD/GELU stay int8
    "int8-partial-islands": (
        "BATCH_MATMUL",
        "SOFTMAX",
        "MEAN",
        "SQUARED_DIFFERENCE",
        "RSQRT",
        "SUB",
    ),
    "int8": None,
}


def graph_macs(content):
    """{(op, shapes key): multiply-adds of one op} for FULLY_CONNECTED and BATCH_MATMUL."""
    from ai_edge_litert.tools import flatbuffer_utils

    model = flatbuffer_utils.convert_bytearray_to_object(content)
    subgraph = model.subgraphs[0]
    per_op = []
    for op in subgraph.operators:
        name = flatbuffer_utils.opcode_to_name(model, op.opcodeIndex)
        if name not in ("FULLY_CONNECTED", "BATCH_MATMUL"):
            continue
        ins = [subgraph.tensors[i] for i in op.inputs if i >= 0]
        out = subgraph.tensors[op.outputs[0]]
        if name == "FULLY_CONNECTED":
            contracted = int(ins[1].shape[-1])  # weights [out, in]
        else:
            adj_x = bool(getattr(op.builtinOptions, "adjX", False))
            contracted = int(ins[0].shape[-2] if adj_x else ins[0].shape[-1])
        per_op.append((name, int(np.prod(out.shape)) * contracted))
    totals = {}
    for name, macs in per_op:
        totals[name] = totals.get(name, 0) + macs
    return per_op, totals


def plain_shapes(timing):
    """The shapes string without numpy scalar reprs: "np.int32(4)" → "4"."""
    return re.sub(r"np\.\w+\((-?\d+)\)", r"\1", timing.shapes)


def shape_macs(timing):
    """Multiply-adds of one op of a profiled kind, from its shapes string."""
    if timing.op not in ("FULLY_CONNECTED", "BATCH_MATMUL"):
        return None
    *shapes, out = [json.loads(s) for s in re.findall(r"\[[^\]]*\]", plain_shapes(timing))]
    if timing.op == "FULLY_CONNECTED":
        return int(np.prod(out)) * shapes[1][-1]  # weights [out, in]
    # QKᵀ [.., S, d] × [.., S, d] (adj_y) → [.., S, S]; PV [.., S, S] × [.., S, d] → [.., S, d]:
    # the contracted width is the first operand's last dimension (no adj_x in our graphs;
    # graph_macs reads adj_x from the op and checks the totals).
    return int(np.prod(out)) * shapes[0][-1]


def profile_export(name, float_ops, model, seq, data, runs, tmp):
    from tfcompress.export.op_profile import profile_ops, summarize_by_op
    from tfcompress.export.tflite_export import export_tflite
    from tfcompress.latency import measure_latency

    path = Path(tmp) / f"{name}.tflite"
    report = export_tflite(
        model, path, "int8", sequence_length=seq, representative_inputs=data, float_ops=float_ops
    )
    content = path.read_bytes()
    latency = measure_latency(path, threads=(1,), runs=100, warmup=10)
    profile = profile_ops(content, num_threads=1, runs=runs)
    kinds = []
    for t in profile["ops"]:
        macs = shape_macs(t)
        kinds.append(
            {
                "op": t.op,
                "input_dtype": t.input_dtype,
                "shapes": plain_shapes(t),
                "count": t.count,
                "us_each": round(t.ms_each * 1e3, 2),
                "ms_total": round(t.ms_total, 4),
                "xnnpack": t.delegated,
                "macs_each": macs,
                "gmacs_per_s": round(macs / t.ms_each / 1e6, 1) if macs and t.ms_each else None,
            }
        )
    by_op = [
        {**row, "ms": round(row["ms"], 4), "share": round(row["share"], 4)}
        for row in summarize_by_op(profile)
    ]
    _, macs = graph_macs(content)
    return {
        "float_ops": report["float_ops"],
        "size_bytes": report["size_bytes"],
        "whole_model_p50_ms": latency["results"][0],
        "profile_sum_ms": round(profile["total_ms"], 4),
        "call_overhead_ms": round(profile["call_overhead_ms"], 4),
        "by_op": by_op,
        # per shape for the default export only (the per-shape paragraph of docs/results.md)
        "by_shape": kinds if float_ops is None else None,
        "graph_macs": macs,
    }


def markdown(name, result):
    lines = [
        f"**{name}** — whole model p50 {result['whole_model_p50_ms']['p50_ms']:.2f} ms; "
        f"sum of per-op times {result['profile_sum_ms']:.2f} ms",
        "",
        "| op | input dtype | count | run by XNNPACK | ms | share of sum |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for row in result["by_op"]:
        lines.append(
            f"| {row['op']} | {row['dtype']} | {row['count']} | {row['delegated']}/{row['count']} "
            f"| {row['ms']:.3f} | {row['share']:.1%} |"
        )
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seq", type=int, default=128)
    parser.add_argument("--runs", type=int, default=50, help="invokes per op kind")
    parser.add_argument("--out", help="write the JSON record here")
    args = parser.parse_args()

    import keras
    from latency_vs_peers import DIMS, calibration, encoder_macs, our_model

    from tfcompress.latency import describe_device

    keras.utils.set_random_seed(0)
    model = our_model(args.seq)
    data = calibration(args.seq)
    result = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": describe_device(),
        # Other processes on the cores inflate every time below: compare runs at a low load.
        "load_average_1min_at_start": round(os.getloadavg()[0], 2),
        "dims": DIMS,
        "sequence_length": args.seq,
        "encoder_macs": encoder_macs(args.seq),
        "exports": {},
    }
    with tempfile.TemporaryDirectory(prefix="op_profile_") as tmp:
        for name, float_ops in EXPORTS.items():
            result["exports"][name] = profile_export(
                name, float_ops, model, args.seq, data, args.runs, tmp
            )
            print(markdown(name, result["exports"][name]) + "\n", flush=True)
    result["load_average_1min_at_end"] = round(os.getloadavg()[0], 2)
    if args.out:
        from tfcompress.atomic_write import write_json_atomic

        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        write_json_atomic(args.out, result)


if __name__ == "__main__":
    main()
