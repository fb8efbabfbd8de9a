"""Latency of our integer export against the int8 GEMM floor and keras-hub's stock exports.

One process, interleaved rounds (every model timed once per round, medians of round medians),
1 thread, batch 1, LiteRT interpreter with its default XNNPACK delegate:

  floor        a stack of int8 FULLY_CONNECTED layers: the int8 GEMM throughput of this core,
               turned into the time the encoder's multiply-adds need at that rate
  ours         tfcompress classifier of the same dims: float, dynamic-range, int8 (float islands)
  shape floor  ours int8's own FULLY_CONNECTED and BATCH_MATMUL ops, each shape cut out and
               timed alone (tfcompress.export.op_profile), times their counts: what its
               matmuls cost without the rest; with the op profile of the rest
  keras-hub    BertBackbone of the same dims, same static signature, stock converter:
               float, dynamic-range, full-integer int8
  onnxruntime  keras-hub model and ours via tf2onnx (Keras' ONNX export), dynamic int8 weights
               (quantize_dynamic, QInt8), --threads intra-op threads, sequential, all graph optimizations;
               only when the `bench` extra (onnxruntime, tf2onnx, onnx) is installed. The stock
               route, not hand-tuned: ORT fuses keras-hub's tanh GELU but neither model's
               LayerNorm (tf2onnx writes its means as GlobalAveragePool) nor attention;
               plus the same after ORT's transformer optimizer (onnxruntime.transformers),
               the fused route ORT's BERT docs give

    python benchmarks/latency_vs_peers.py --seq 128 32 --rounds 15 --out docs/latency_vs_peers.json
"""

import argparse
import functools
import os
import platform
import tempfile
import time
from datetime import UTC, datetime

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

DIMS = {"vocab": 5000, "layers": 6, "hidden": 256, "heads": 4, "ffn": 1024}


def encoder_macs(seq, d=DIMS):
    per_layer = seq * (4 * d["hidden"] ** 2 + 2 * d["hidden"] * d["ffn"]) + 2 * seq**2 * d["hidden"]
    return per_layer * d["layers"]


def our_model(seq):
    from tfcompress.models import Encoder, EncoderConfig, build_classifier

    config = EncoderConfig(
        vocab_size=DIMS["vocab"],
        hidden_size=DIMS["hidden"],
        num_layers=DIMS["layers"],
        num_heads=DIMS["heads"],
        intermediate_size=DIMS["ffn"],
        max_length=512,
    )
    return build_classifier(Encoder(config), 2, sequence_length=seq)


def keras_hub_model():
    import keras_hub

    return keras_hub.models.BertBackbone(
        vocabulary_size=DIMS["vocab"],
        num_layers=DIMS["layers"],
        num_heads=DIMS["heads"],
        hidden_dim=DIMS["hidden"],
        intermediate_dim=DIMS["ffn"],
        max_sequence_length=512,
    )


def calibration(seq, n=32, seed=0, vocab=None):
    vocab = vocab or DIMS["vocab"]
    rng = np.random.default_rng(seed)
    batches = []
    for _ in range(n):
        length = int(rng.integers(8, seq + 1))
        ids = np.zeros((1, seq), np.int32)
        ids[0, :length] = rng.integers(5, vocab, length)
        mask = (ids > 0).astype(np.int32)
        batches.append({"token_ids": ids, "segment_ids": np.zeros_like(ids), "padding_mask": mask})
    return batches


def gemm_floor_model(rows=128, width=1024, depth=8):
    """int8 FC stack; returns (tflite bytes, multiply-adds per invoke)."""
    import keras
    import tensorflow as tf

    x = keras.Input((width,), batch_size=rows, name="x")
    h = x
    for _ in range(depth):
        h = keras.layers.Dense(width, use_bias=False)(h)
    model = keras.Model(x, h)
    with tempfile.TemporaryDirectory() as tmp:
        model.export(tmp, format="tf_saved_model", verbose=False)
        converter = tf.lite.TFLiteConverter.from_saved_model(tmp)
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        rng = np.random.default_rng(0)
        converter.representative_dataset = lambda: (
            {"x": rng.standard_normal((rows, width)).astype(np.float32)} for _ in range(4)
        )
        converter.inference_input_type = tf.int8
        converter.inference_output_type = tf.int8
        return converter.convert(), rows * width * width * depth


def build_candidates(seq, with_keras_hub=True):
    from tfcompress.export.converter import convert

    data = calibration(seq)
    ours = our_model(seq)
    models = {
        "ours float": convert(ours, "float"),
        "ours dynamic-range": convert(ours, "dynamic"),
        "ours int8": convert(ours, "int8", representative_inputs=data),
    }
    if with_keras_hub:
        hub = keras_hub_model()
        models["keras-hub float"] = convert(hub, "float", sequence_length=seq)
        models["keras-hub dynamic-range"] = convert(hub, "dynamic", sequence_length=seq)
        models["keras-hub full-int8"] = convert(
            hub, "int8", sequence_length=seq, representative_inputs=data, float_ops=()
        )
    return models


class Timed:
    def __init__(self, content, threads):
        from ai_edge_litert.interpreter import Interpreter

        from tfcompress.latency.inputs import make_inputs

        self.interpreter = Interpreter(model_content=content, num_threads=threads)
        self.runner = self.interpreter.get_signature_runner()
        self.inputs = make_inputs(self.runner.get_input_details())
        self.size = len(content)
        self.content = content
        self.round_medians = []

    def round(self, runs):
        times = []
        for _ in range(runs):
            start = time.perf_counter()
            self.runner(**self.inputs)
            times.append(time.perf_counter() - start)
        self.round_medians.append(float(np.median(times) * 1e3))

    @property
    def median_ms(self):
        return float(np.median(self.round_medians))


class TimedOrt(Timed):
    """Timed's rounds on an ONNX Runtime session; size is the .onnx file's."""

    def __init__(self, path, threads):
        from tfcompress.latency.inputs import make_inputs

        self.session = ort_session(path, threads)
        self.inputs = make_inputs(ort_input_details(self.session))
        self.size = os.path.getsize(path)
        self.round_medians = []

    def runner(self, **inputs):
        self.session.run(None, inputs)


def onnx_route_available():
    try:
        import onnxruntime  # noqa: F401
        import tf2onnx  # noqa: F401
    except ImportError as error:
        print(
            f"note: onnxruntime rows skipped ({error.name} not installed: pip install '.[bench]')"
        )
        return False
    return True


@functools.cache
def register_tf2onnx_erfc():
    """Teach tf2onnx TF's Erfc as 1 - Erf.

    Our encoder uses exact GELU, which TF lowers to 0.5·x·erfc(-x/√2); ONNX has Erf but no
    Erfc and tf2onnx has no handler for it, so without this our model does not convert.
    """
    from tf2onnx import utils
    from tf2onnx.handler import tf_op

    @tf_op("Erfc")
    class Erfc:
        @classmethod
        def version_9(cls, ctx, node, **kwargs):
            dtype = utils.map_onnx_to_numpy_type(ctx.get_dtype(node.input[0]))
            node.type = "Erf"
            one = ctx.make_const(utils.make_name(f"{node.name}_one"), np.array(1, dtype))
            ctx.insert_new_node_on_output(
                "Sub", node.output[0], inputs=[one.output[0], node.output[0]]
            )


def export_onnx(model, seq, path):
    """Float .onnx with the TFLite rows' signature: batch 1, fixed length, int32 inputs."""
    from tfcompress.export.converter import input_signature

    register_tf2onnx_erfc()
    model.export(path, format="onnx", input_signature=[input_signature(model, seq)], verbose=False)


def quantize_onnx_dynamic(float_path, int8_path):
    """int8 weights, activations quantized at run time (ONNX Runtime's "dynamic int8").

    quantize_dynamic warns that ORT's pre-processing (shape inference, graph optimization) was
    skipped; it is not needed here: every weight MatMul is quantized (37 in keras-hub's model).
    """
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quantize_dynamic(float_path, int8_path, weight_type=QuantType.QInt8)


def transformer_optimized_int8(float_path, int8_path):
    """ORT's BERT graph optimizer (fused attention, LayerNorm, GELU where it finds them), then
    dynamic int8 weights: the route ORT's transformer docs give. Returns the fusion counts."""
    from onnxruntime.transformers import optimizer

    fused_float = int8_path.replace(".onnx", "_float.onnx")
    # opt_level=0: the optimizer's own fusion passes only; its opt_level>0 pre-pass imports
    # torch, and the session applies ORT's graph optimizations at load anyway.
    model = optimizer.optimize_model(
        float_path,
        model_type="bert",
        num_heads=DIMS["heads"],
        hidden_size=DIMS["hidden"],
        opt_level=0,
    )
    model.save_model_to_file(fused_float)
    quantize_onnx_dynamic(fused_float, int8_path)
    return {k: v for k, v in model.get_fused_operator_statistics().items() if v}


def ort_session(path, threads):
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])


def ort_input_details(session):
    """The session's inputs in the shape of a TFLite signature runner's get_input_details()."""
    dtypes = {"tensor(int32)": np.int32, "tensor(int64)": np.int64, "tensor(float)": np.float32}
    return {
        i.name: {"shape": i.shape, "shape_signature": i.shape, "dtype": dtypes[i.type]}
        for i in session.get_inputs()
    }


def max_abs_diff(session, model, inputs):
    """Largest |ONNX Runtime - Keras| over the model's outputs (matched by name)."""
    expected = model(inputs, training=False)
    if isinstance(expected, dict):
        expected = [expected[o.name] for o in session.get_outputs()]
    else:
        expected = [expected]
    got = session.run(None, inputs)
    return max(float(np.max(np.abs(np.asarray(e) - g))) for e, g in zip(expected, got))


def onnx_candidates(seq, threads, with_keras_hub=True):
    """ORT rows, each checked against its Keras model on one calibration input."""
    models = {"ours": our_model(seq)}
    if with_keras_hub:
        models["keras-hub"] = keras_hub_model()
    check = calibration(seq)[0]
    timed = {}
    with tempfile.TemporaryDirectory(prefix="latency_onnx_") as tmp:
        for name, model in models.items():
            float_path = os.path.join(tmp, f"{name}.onnx")
            int8_path = os.path.join(tmp, f"{name}_int8.onnx")
            export_onnx(model, seq, float_path)
            quantize_onnx_dynamic(float_path, int8_path)
            fused_path = os.path.join(tmp, f"{name}_fused_int8.onnx")
            try:
                fusions = transformer_optimized_int8(float_path, fused_path)
            except Exception as error:  # the optimizer's own failure is the result
                print(f"onnx {name}: transformer optimizer failed: {type(error).__name__}: {error}")
            else:
                print(f"onnx {name}: transformer optimizer fused {fusions}")
                timed[f"{name} onnxruntime transformer-optimized dynamic int8"] = TimedOrt(
                    fused_path, threads
                )
            # Sessions hold the whole model, so the files may go once they are open.
            int8 = TimedOrt(int8_path, threads)
            float_diff = max_abs_diff(ort_session(float_path, threads), model, check)
            int8_diff = max_abs_diff(int8.session, model, check)
            print(
                f"onnx {name}: max |ORT - Keras| float {float_diff:.2e}, "
                f"dynamic int8 {int8_diff:.2e}"
            )
            timed[f"{name} onnxruntime dynamic int8"] = int8
    return timed


def measure(seq, rounds, runs, threads, with_keras_hub=True):
    floor_content, floor_macs = gemm_floor_model()
    timed = {"int8 GEMM stack": Timed(floor_content, threads)}
    timed.update({k: Timed(v, threads) for k, v in build_candidates(seq, with_keras_hub).items()})
    if onnx_route_available():
        timed.update(onnx_candidates(seq, threads, with_keras_hub))
    for t in timed.values():
        t.round(5)  # warm-up
        t.round_medians.clear()
    for _ in range(rounds):
        for t in timed.values():
            t.round(runs)
    throughput = floor_macs / timed.pop("int8 GEMM stack").median_ms / 1e6  # G MAC/s
    floor_ms = encoder_macs(seq) / throughput / 1e6
    shape_floor = shape_matched(timed["ours int8"].content, threads)
    rows = {
        name: {"median_ms": t.median_ms, "size_mb": t.size / 2**20, "rounds": t.round_medians}
        for name, t in timed.items()
    }
    return {
        "seq": seq,
        "gemm_gmacs_per_s": throughput,
        "encoder_gmacs": encoder_macs(seq) / 1e9,
        "floor_ms": floor_ms,
        "shape_floor": shape_floor,
        "models": rows,
    }


def shape_matched(content, threads):
    """The int8 export's own matmuls timed one by one (`op_profile.shape_matched_floor`),
    and the profile rows that make up the rest."""
    from tfcompress.export.op_profile import profile_ops, shape_matched_floor, summarize_by_op

    profile = profile_ops(content, num_threads=threads, runs=50)
    return {
        **shape_matched_floor(profile),
        "profile_sum_ms": profile["total_ms"],
        "profile": summarize_by_op(profile)[:10],
    }


def markdown(result):
    floor = result["floor_ms"]
    hub_dynamic = result["models"].get("keras-hub dynamic-range", {}).get("median_ms")
    lines = [
        f"**seq {result['seq']}** — encoder {result['encoder_gmacs']:.3f} G multiply-adds; "
        f"int8 GEMM {result['gemm_gmacs_per_s']:.0f} G/s → floor {floor:.2f} ms",
        "",
        "| model | median ms | × floor | × keras-hub dynamic | MB |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, row in result["models"].items():
        vs_hub = f"{row['median_ms'] / hub_dynamic:.2f}" if hub_dynamic else "—"
        lines.append(
            f"| {name} | {row['median_ms']:.2f} | {row['median_ms'] / floor:.2f} | {vs_hub} "
            f"| {row['size_mb']:.1f} |"
        )
    shape = result["shape_floor"]
    ours = result["models"]["ours int8"]["median_ms"]
    lines += [
        "",
        f"Shape-matched floor of ours int8: {shape['floor_ms']:.3f} ms (its FULLY_CONNECTED "
        f"{shape['fully_connected_ms']:.3f} + BATCH_MATMUL {shape['batch_matmul_ms']:.3f}, "
        f"each shape timed alone) → ours int8 = {ours / shape['floor_ms']:.2f} × that floor",
        "",
        "| op (profile of ours int8) | dtype | count | ms | share |",
        "|---|---|---:|---:|---:|",
    ]
    lines += [
        f"| {r['op']} | {r['dtype']} | {r['count']} | {r['ms']:.3f} | {r['share']:.1%} |"
        for r in shape["profile"]
    ]
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seq", type=int, nargs="+", default=[128, 32])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--runs", type=int, default=10, help="invokes per model per round")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--no-keras-hub", action="store_true")
    parser.add_argument("--out", help="JSON with every round's medians")
    args = parser.parse_args(argv)
    results = [
        measure(s, args.rounds, args.runs, args.threads, not args.no_keras_hub) for s in args.seq
    ]
    meta = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores",
        "threads": args.threads,
        "rounds": args.rounds,
        "runs_per_round": args.runs,
    }
    for result in results:
        print(markdown(result) + "\n")
    if args.out:
        from tfcompress.atomic_write import write_json_atomic

        write_json_atomic(args.out, {**meta, "results": results})


if __name__ == "__main__":
    main()
