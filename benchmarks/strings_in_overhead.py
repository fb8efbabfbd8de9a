"""What strings-in costs over ids-in, per real sentence, and where it goes.

For one finished run and one export mode, in one process, interleaved rounds, 1 thread:

  ids in                      the encoder alone, fed the Python tokenizer's ids
  tokenizer only              the in-graph tokenizer alone (.tflite)
  strings in, joined          tokenizer and encoder in one subgraph (export_text_model)
  strings in, split           the tokenizer as its own signature, run before the encoder's
                              (`export --split-tokenizer`): two invokes, ids copied between
  strings in, encoder in IF   the encoder in its own subgraph behind an always-true IF
                              (a one-length `length_buckets` model)

TFLite re-prepares every op after one whose output was resized during the invoke, and the
tokenizer's outputs are resized on every sentence; in the joined graph that includes the
XNNPACK delegate node holding the encoder. An IF does not isolate a subgraph from that: it
marks its outputs dynamic when its branch holds any dynamic tensor. Two signatures do: the
encoder's subgraph is invoked on its own, with static inputs. The differences to `ids in`
are the strings-in overhead of each layout. `tokenizer only, caches evicted`: the tokenizer
alone with 64 MB written before each call (its tables start outside the caches). For the
split layout it is also measured inside each call (`split_front_overhead_us`): the time
before the encoder's invoke, minus ids in's.

    python benchmarks/strings_in_overhead.py runs/latency/snips_student_l3 --mode int8 \
        --out docs/runs/strings_in_overhead/snips_student_l3.json
"""

import argparse
import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np  # noqa: E402
from sentence_latency import (  # noqa: E402
    calibration_ids,
    eval_texts,
    interleave,
    record_header,
    spread,
)  # noqa: E402

from tfcompress.latency.sentence_timer import SentenceTimer, id_feeds, text_feeds  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir")
    parser.add_argument("--mode", default="int8")
    parser.add_argument("--sentences", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--out")
    args = parser.parse_args(argv)
    from tfcompress.atomic_write import write_json_atomic
    from tfcompress.tasks import FinishedRun

    run = FinishedRun.read(args.run_dir)
    runtime = run.task_runtime()
    texts, pairs = eval_texts(runtime)
    chosen = spread(len(texts), args.sentences)
    texts = [texts[i] for i in chosen]
    pairs = None if pairs is None else [pairs[i] for i in chosen]
    models = build(run.load_model(), runtime, args.mode)
    strings = text_feeds(texts, pairs)
    ids = id_feeds(runtime.tokenizer, texts, pairs)
    timers = {
        name: SentenceTimer(content, ids if name == "ids in" else strings)
        for name, content in models.items()
    }
    interleave(list(timers.values()), args.rounds)
    p50 = {name: timer.summary()["p50_ms"] for name, timer in timers.items()}
    p50["tokenizer only, caches evicted"] = cold_p50_ms(models["tokenizer only"], strings, args)
    result = {
        **record_header("strings_in_overhead.py"),
        "run_dir": args.run_dir,
        "mode": args.mode,
        "sequence_length": runtime.tokenizer.sequence_length,
        "sentences": len(texts),
        "rounds": args.rounds,
        "p50_ms": p50,
        "overhead_us": {
            name: (p50[name] - p50["ids in"]) * 1e3 for name in p50 if name.startswith("strings")
        },
        # Measured inside each call rather than as a difference of two ~ms totals: the time
        # before the encoder's invoke (tokenize, copying the ids) minus ids in's (setting them).
        "split_front_overhead_us": front_overhead(timers["strings in, split"], timers["ids in"]),
    }
    for name, value in p50.items():
        print(f"{name:28s} p50 {value * 1e3:9.1f} µs")
    for name, value in result["overhead_us"].items():
        print(f"{name:28s} over ids in: {value:+.1f} µs")
    direct = result["split_front_overhead_us"]
    print(f"strings in, split, measured inside each call: p50 {direct['p50']:+.1f} µs")
    if args.out:
        write_json_atomic(args.out, result)


def cold_p50_ms(content, feeds, args, evict_mb=64):
    """p50 of `content` with `evict_mb` MB written before each sentence: every call starts
    with the model's tables out of the caches, as behind a large encoder's invoke."""
    scratch = np.zeros(evict_mb * 2**20 // 8)

    def evict():
        scratch[:] += 1.0

    timer = SentenceTimer(content, feeds)
    for _ in range(args.rounds):
        timer.round(before_each=evict)
    return timer.summary()["p50_ms"]


def front_overhead(timer, baseline) -> dict:
    """Per sentence: `timer`'s time before its encoder's invoke minus `baseline`'s, in µs."""
    extra = (timer.sentence_ms(front=True) - baseline.sentence_ms(front=True)) * 1e3
    p50, p90, p99 = np.percentile(extra, [50, 90, 99])
    return {"p50": float(p50), "p90": float(p90), "p99": float(p99)}


def build(model, runtime, mode):
    from tfcompress.export.converter import convert
    from tfcompress.export.length_buckets import convert_bucketed
    from tfcompress.export.run_export import task_texts
    from tfcompress.export.text_model import (
        ID_OUTPUTS,
        build_tokenizer_module,
        convert_text_model,
        output_names,
    )

    tokenizer, length = runtime.tokenizer, runtime.tokenizer.sequence_length
    calibration = task_texts(runtime.train.subset(256, seed=0))
    pair = runtime.sentence_pairs
    needs_data = mode in ("int8", "qat")
    representative = calibration_ids(runtime, calibration) if needs_data else None
    renamed = None if len(output_names(model)) > 1 else {"output_0": "logits"}
    return {
        "ids in": convert(model, mode, length, representative),
        "tokenizer only": convert(
            build_tokenizer_module(tokenizer, pair), "float", custom_ops=True
        ),
        "strings in, joined": convert_text_model(
            model,
            tokenizer,
            mode,
            pair=pair,
            representative_texts=calibration if needs_data else None,
        ),
        "strings in, split": convert_text_model(
            model,
            tokenizer,
            mode,
            pair=pair,
            representative_texts=calibration if needs_data else None,
            split=True,
        ),
        "strings in, encoder in IF": convert_bucketed(
            model,
            mode,
            (length,),
            representative,
            front=build_tokenizer_module(tokenizer, pair, 1, (length,)),
            front_custom_ops=True,
            keep_outputs=ID_OUTPUTS,
            renamed=renamed,
        ),
    }


if __name__ == "__main__":
    np.set_printoptions(precision=3)
    main()
