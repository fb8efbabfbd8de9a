"""Per-sentence latency on a run's real eval sentences: strings in, task outputs out.

For one finished run (its model, tokenizer and eval split), one process builds:

  ours MODE fixed S        strings-in export (`--modes`) at the recipe's sequence length S
  ours MODE fixed 128      the same at 128 tokens (when S < 128; the position table grown to
                           128 rows with zeros: identical outputs on sentences that fit S)
  ours MODE buckets        strings-in, length-bucketed (`--buckets` below S, then S; `auto`:
                           the lengths `export --buckets auto` fits to the calibration set)
  ours MODE split buckets  the same with the tokenizer as its own signature (`tokenize`, then
                           the encoder's: `export --split-tokenizer`), both run per sentence
  edge-quantizer RECIPE    ai-edge-quantizer's recipe applied to `ours float buckets`
  tokenizer only           the in-graph tokenizer alone at S (what strings-in adds)
  keras litert ...         Keras 3's own `export(format="litert")` of the float model, and after
                           `model.quantize("int8" / "int4")`: ids in at S (tokenization not
                           counted), a failed conversion recorded as its error
  keras-hub dynamic 128    keras-hub BertBackbone of the model's dimensions, random weights,
                           stock dynamic-range converter, fixed length 128, ids in (timing only)

and times each on every sentence (`--sentences` of them, spread over the eval split) in
interleaved rounds, the model order rotated each round: 1 thread, batch 1, LiteRT with its
default XNNPACK delegate, `set_tensor` + `invoke` + reading the outputs. A sentence's time is
its median over the rounds; the table gives p50/p90/p99 over sentences. Task metrics come from
running each trained-weight model on the whole eval split (strings-in models: their token ids
checked against the Python tokenizer's), so they are the accuracy of what was timed.

    python benchmarks/sentence_latency.py runs/teacher_snips_minilm --modes float int8 \
        --out docs/runs/sentence_latency/snips/metrics.json
"""

import argparse
import os
import platform
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np  # noqa: E402
import peer_exports  # noqa: E402

from tfcompress.export.replayed_outputs import ReplayedOutputs  # noqa: E402
from tfcompress.export.text_model import ID_OUTPUTS  # noqa: E402
from tfcompress.export.verification import ParityError  # noqa: E402
from tfcompress.latency.sentence_timer import (  # noqa: E402
    SentenceTimer,
    id_feeds,
    text_feeds,
)

FIXED_PEER_LENGTH = 128


@dataclass
class Row:
    """A model to time: its bytes, whether it takes strings or ids (at `length`), and
    whether its weights are the run's (so its task metrics mean something)."""

    content: bytes
    strings_in: bool
    length: int
    trained: bool = True
    timer: object = field(default=None, repr=False)


def main(argv=None):
    args = parse_args(argv)
    from tfcompress.atomic_write import write_json_atomic
    from tfcompress.tasks import FinishedRun

    run = FinishedRun.read(args.run_dir)
    runtime = run.task_runtime()
    model = run.load_model()
    texts, pairs = eval_texts(runtime)
    chosen = spread(len(texts), args.sentences)
    from tfcompress.export.run_export import AUTO_BUCKETS, fit_buckets

    args.bucket_fit = None
    if args.buckets == [AUTO_BUCKETS]:
        examples = runtime.train.subset(args.calibration_examples, seed=0)
        args.buckets, args.bucket_fit = fit_buckets(runtime, examples)
    else:
        args.buckets = [int(length) for length in args.buckets]
    rows, failures = build_rows(model, runtime, args)
    for row in rows.values():
        row.timer = SentenceTimer(row.content, feeds(row, runtime, texts, pairs, chosen))
    interleave([row.timer for row in rows.values()], args.rounds)
    metrics = {name: evaluate(row, runtime, texts, pairs) for name, row in rows.items()}
    metrics["keras model"] = runtime.evaluate(model)
    result = summarize(rows, metrics, failures, args, runtime, chosen)
    print(markdown(result))
    if args.out:
        write_json_atomic(args.out, result)


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", help="a finished finetune/distill/quantize run")
    parser.add_argument("--modes", nargs="+", default=["float", "int8"])
    parser.add_argument(
        "--buckets",
        nargs="+",
        default=["16", "32", "64"],
        help="bucket lengths below the recipe's, or `auto` (fitted to the calibration examples)",
    )
    parser.add_argument("--sentences", type=int, default=300, help="eval sentences timed")
    parser.add_argument("--rounds", type=int, default=5, help="times each sentence is run")
    parser.add_argument("--calibration-examples", type=int, default=512)
    parser.add_argument("--no-peers", action="store_true", help="skip the keras-hub row")
    parser.add_argument("--out", help="write the JSON record here")
    return parser.parse_args(argv)


def eval_texts(runtime):
    from tfcompress.export.run_export import task_texts
    from tfcompress.export.text_model import split_texts

    items = task_texts(runtime.eval)
    return split_texts(items, pair=isinstance(items[0], tuple))


def spread(total, wanted):
    """`wanted` indices spread evenly over `total` (all of them if fewer)."""
    return np.unique(np.linspace(0, total - 1, min(wanted, total)).astype(int)).tolist()


def build_rows(model, runtime, args):
    """({row name: Row}, {row name: why it could not be built})."""
    from tfcompress.export.converter import convert, input_signature
    from tfcompress.export.length_buckets import at_length
    from tfcompress.export.run_export import task_texts
    from tfcompress.export.text_model import (
        build_tokenizer_module,
        convert_text_model,
        split_texts,
    )

    tokenizer = runtime.tokenizer
    length = tokenizer.sequence_length
    calibration = task_texts(runtime.train.subset(args.calibration_examples, seed=0))
    pair = isinstance(calibration[0], tuple)
    variants = {f"fixed {length}": (model, tokenizer, None, False)}
    if length < FIXED_PEER_LENGTH:
        variants[f"fixed {FIXED_PEER_LENGTH}"] = (
            at_length(with_position_rows(model, FIXED_PEER_LENGTH), FIXED_PEER_LENGTH),
            retokenizer(tokenizer, FIXED_PEER_LENGTH),
            None,
            False,
        )
    variants["buckets"] = (model, tokenizer, args.buckets, False)
    variants["split buckets"] = (model, tokenizer, args.buckets, True)
    rows, failures = {}, {}
    for mode in args.modes:
        for variant, (variant_model, variant_tokenizer, buckets, split) in variants.items():
            content = convert_text_model(
                variant_model,
                variant_tokenizer,
                mode,
                pair=pair,
                representative_texts=calibration if mode in ("int8", "qat") else None,
                buckets=buckets,
                split=split,
            )
            rows[f"ours {mode} {variant}"] = Row(content, True, variant_tokenizer.sequence_length)
        # The same encoder fed ids: strings-in minus this is what the tokenizer costs.
        rows[f"ours {mode} fixed {length} (ids in)"] = Row(
            convert(
                model,
                mode,
                length,
                calibration_ids(runtime, calibration) if mode in ("int8", "qat") else None,
            ),
            False,
            length,
        )
    if args.no_peers:
        return rows, failures
    float_buckets = convert_text_model(model, tokenizer, "float", pair=pair, buckets=args.buckets)
    calibration_texts, calibration_pairs = split_texts(calibration[:64], pair)
    calibration_feeds = text_feeds(calibration_texts, calibration_pairs)
    for recipe in peer_exports.EDGE_QUANTIZER_RECIPES:
        content, failures[f"edge-quantizer {recipe}"] = peer_exports.attempt(
            lambda recipe=recipe: peer_exports.edge_quantizer(
                float_buckets, recipe, calibration_feeds
            )
        )
        if content is not None:
            rows[f"edge-quantizer {recipe} (buckets)"] = Row(content, True, length)
    tokenizer_content = convert(build_tokenizer_module(tokenizer, pair), "float", custom_ops=True)
    rows["tokenizer only"] = Row(tokenizer_content, True, length, trained=False)
    specs = input_signature(model, length)
    keras_paths = {
        "keras litert float": lambda: peer_exports.keras_litert(model, specs),
        "keras quantize int8 + litert": lambda: peer_exports.keras_quantized_litert(
            model, "int8", specs
        ),
        "keras quantize int4 + litert": lambda: peer_exports.keras_quantized_litert(
            model, "int4", specs
        ),
    }
    for name, build in keras_paths.items():
        content, failures[name] = peer_exports.attempt(build)
        if content is not None:
            rows[f"{name} {length} (ids in)"] = Row(content, False, length)
    backbone = keras_hub_backbone(model.encoder.config)
    hub = convert(backbone, "dynamic", sequence_length=FIXED_PEER_LENGTH)
    rows[f"keras-hub dynamic-range {FIXED_PEER_LENGTH} (ids in)"] = Row(
        hub, False, FIXED_PEER_LENGTH, trained=False
    )
    return rows, {name: why for name, why in failures.items() if why}


def with_position_rows(model, rows):
    """The task model with a position table of at least `rows` rows (its own first, zeros
    after), sharing every other weight: a run fine-tuned at 48 tokens keeps 48 positions,
    and running it at 128 changes nothing on inputs that fit 48 (the rest is padding)."""
    import dataclasses

    from tfcompress.models import Encoder
    from tfcompress.models.task_models import TaskModel

    config = model.encoder.config
    if config.max_length >= rows:
        return model
    encoder = Encoder(dataclasses.replace(config, max_length=rows), name=model.encoder.name)
    longer = TaskModel(encoder, model.head, rows, name=model.name)
    for mine, theirs in zip(encoder.weights, model.encoder.weights, strict=True):
        value = np.asarray(theirs)
        if mine.shape != value.shape:  # the position table
            value = np.concatenate([value, np.zeros((rows - value.shape[0], value.shape[1]))])
        mine.assign(value.astype(mine.dtype))
    return longer


def calibration_ids(runtime, texts):
    """The Python tokenizer's ids of calibration texts (or pairs), as one batch."""
    from tfcompress.export.text_model import split_texts

    first, second = split_texts(texts, isinstance(texts[0], tuple))
    return [{name: np.asarray(value) for name, value in runtime.tokenizer(first, second).items()}]


def feeds(row, runtime, texts, pairs, chosen):
    """One input dict per chosen sentence: strings, or the tokenizer's ids at the row's length."""
    chosen_texts = [texts[i] for i in chosen]
    chosen_pairs = None if pairs is None else [pairs[i] for i in chosen]
    if row.strings_in:
        return text_feeds(chosen_texts, chosen_pairs)
    return id_feeds(retokenizer(runtime.tokenizer, row.length), chosen_texts, chosen_pairs)


def evaluate(row, runtime, texts, pairs):
    """Task metrics on the whole eval split, for rows with the run's weights at its length."""
    from tfcompress.export.text_model import run_text_model
    from tfcompress.export.tflite_model_runner import TFLiteModelRunner

    if not row.trained:
        return None
    if row.strings_in:
        outputs = run_text_model(row.timer.interpreter, texts, pairs)
        length = runtime.tokenizer.sequence_length
        # A longer model's outputs cut to the labels' length: the same as at that length
        # when every text fits it (else the ids differ and there are no metrics).
        cut = {
            name: value[:, :length] if name in ID_OUTPUTS or value.ndim > 2 else value
            for name, value in outputs.items()
        }
        try:
            return runtime.evaluate(ReplayedOutputs(cut))
        except ParityError:
            return None
    return runtime.evaluate(TFLiteModelRunner(row.content))


def retokenizer(tokenizer, sequence_length):
    from tfcompress.data.wordpiece_tokenizer import WordPieceTokenizer

    if sequence_length == tokenizer.sequence_length:
        return tokenizer
    return WordPieceTokenizer(tokenizer.vocab, sequence_length, tokenizer.lower_case)


def keras_hub_backbone(config):
    import keras_hub

    return keras_hub.models.BertBackbone(
        vocabulary_size=config.vocab_size,
        num_layers=config.num_layers,
        num_heads=config.num_heads,
        hidden_dim=config.hidden_size,
        intermediate_dim=config.intermediate_size,
        max_sequence_length=max(config.max_length, FIXED_PEER_LENGTH),
    )


def interleave(timers, rounds):
    """`rounds` rounds of every timer, the order rotated each round."""
    for r in range(rounds):
        shift = r % len(timers)
        for timer in timers[shift:] + timers[:shift]:
            timer.round()


def summarize(rows, metrics, failures, args, runtime, chosen):
    table = {}
    for name, row in rows.items():
        table[name] = {
            "inputs": "strings" if row.strings_in else "ids",
            "length": row.length,
            **row.timer.summary(),
            "size_mb": len(row.content) / 2**20,
            "metrics": metrics.get(name),
        }
    lengths = runtime.tokenizer.packed_lengths(*eval_texts_at(runtime, chosen))
    return {
        **record_header("sentence_latency.py"),
        "run_dir": str(args.run_dir),
        "task": runtime.task,
        "sequence_length": runtime.tokenizer.sequence_length,
        "buckets": list(args.buckets),
        "bucket_fit": args.bucket_fit,
        "sentences_timed": len(chosen),
        "eval_examples": len(runtime.eval),
        "rounds": args.rounds,
        "tokens_per_sentence": {
            "median": float(np.median(lengths)),
            "p90": float(np.percentile(lengths, 90)),
            "max": int(np.max(lengths)),
        },
        "rows": table,
        "keras_metrics": metrics["keras model"],
        "failed": failures,
    }


def record_header(script):
    """What every timing record starts with: the command, when, where and how loaded."""
    return {
        "command": f"python benchmarks/{script} " + " ".join(sys.argv[1:]),
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores",
        "load_average": os.getloadavg(),
    }


def eval_texts_at(runtime, chosen):
    texts, pairs = eval_texts(runtime)
    return [texts[i] for i in chosen], None if pairs is None else [pairs[i] for i in chosen]


def markdown(result):
    lines = [
        f"{result['task']}, {result['sentences_timed']} eval sentences "
        f"(median {result['tokens_per_sentence']['median']:.0f} tokens), "
        f"{result['rounds']} rounds, 1 thread",
        "",
        "| model | p50 ms | p90 ms | p99 ms | MB | eval metrics |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for name, row in result["rows"].items():
        metrics = row["metrics"]
        shown = ", ".join(f"{k} {v:.4f}" for k, v in metrics.items()) if metrics else "—"
        lines.append(
            f"| {name} | {row['p50_ms']:.3f} | {row['p90_ms']:.3f} | {row['p99_ms']:.3f} "
            f"| {row['size_mb']:.2f} | {shown} |"
        )
    keras = ", ".join(f"{k} {v:.4f}" for k, v in result["keras_metrics"].items())
    lines.append(f"\nKeras model (the reference): {keras}")
    lines += [f"\n{name}: failed: {why}" for name, why in result["failed"].items()]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
