"""Export a finished run directory: its model, its tokenizer, its task data for calibration."""

from pathlib import Path

import numpy as np

from tfcompress.atomic_write import write_json_atomic
from tfcompress.errors import ConfigError
from tfcompress.export import CALIBRATED_MODES, DEFAULT_RANGE_QUANTILE
from tfcompress.export.length_buckets import fitted_buckets
from tfcompress.export.low_bit_storage import WEIGHT_BITS
from tfcompress.export.replayed_outputs import ReplayedOutputs
from tfcompress.export.text_model import (
    export_text_model,
    load_text_interpreter,
    run_text_model,
    split_texts,
)
from tfcompress.export.tflite_export import export_tflite, report_path
from tfcompress.export.tflite_model_runner import TFLiteModelRunner
from tfcompress.models.quantized_copy import lsq_steps, packed_size_bytes
from tfcompress.run_directory import check_writable
from tfcompress.tasks import FinishedRun
from tfcompress.tasks.unseen_labels import unseen_summary


def export_run(
    run_dir,
    mode="int8",
    *,
    output=None,
    representative_examples=512,
    verify_examples=256,
    min_agreement=None,
    max_abs_diff=None,
    float_ops=None,
    equalize=True,
    range_quantile=DEFAULT_RANGE_QUANTILE,
    strings_in=False,
    buckets=None,
    split_tokenizer=False,
    timing=False,
    weight_bits=None,
    on_stage=None,
) -> dict:
    """Export `RUN_DIR/model.keras` to `RUN_DIR/export/<mode>.tflite` (+ `.json` report).

    Calibration examples come from the run's training data, verification examples from its
    eval data (`verify_examples=0`: all of it); the report adds the task metrics of the
    TFLite model and of the Keras model on those same examples. `strings_in` exports the
    strings-in model instead (tokenizer in the graph, `<mode>_text.tflite`), calibrated and
    verified on the same examples as texts (parity covers per-token outputs on real tokens).
    `buckets`: shorter sequence lengths the export holds beside the run's, each input run at
    the shortest that fits (`<mode>[_text]_buckets.tflite`; see `export.length_buckets`);
    `"auto"`: the three lengths that minimize the calibration examples' mean padded length
    (`fitted_buckets`; the report's `bucket_fit` says how they came out).
    `split_tokenizer` (strings in): the tokenizer as its own signature, run before the
    encoder's (`<mode>_text_split[_buckets].tflite`; see `text_model.split_tokenizer`).
    `timing`: time the written model on this host (1 thread; see `time_export`) into the
    report. `weight_bits` (2 or 4, `qat` only): the low-bit weights stored packed
    (`<mode>_w<bits>.tflite`; see `low_bit_storage`).
    `on_stage(text)` hears each stage as it starts (for a progress display).
    Results beside `output` that measured the file it replaces are removed (`write_export`).
    """
    on_stage = on_stage or (lambda text: None)
    if split_tokenizer and not strings_in:
        raise ConfigError(
            "split_tokenizer applies to strings-in exports (strings_in / --strings-in)"
        )
    check_weight_bits(weight_bits, mode)
    run = FinishedRun.read(run_dir)
    name = (
        mode
        + ("_text" if strings_in else "")
        + ("_split" if split_tokenizer else "")
        + ("_buckets" if buckets else "")
        + (f"_w{weight_bits}" if weight_bits else "")
    )
    output = Path(output) if output else run.directory / "export" / f"{name}.tflite"
    check_writable(output.parent, "--output")
    runtime = run.task_runtime()
    calibration = runtime.train.subset(representative_examples, seed=runtime.seed)
    verification = runtime.with_eval(
        runtime.eval.subset(verify_examples or len(runtime.eval), seed=runtime.seed)
    )
    model = run.load_model()
    fit = None
    if buckets == AUTO_BUCKETS:
        buckets, fit = fit_buckets(runtime, calibration)
    options = dict(
        min_agreement=min_agreement,
        max_abs_diff=max_abs_diff,
        float_ops=float_ops,
        equalize=equalize,
        range_quantile=range_quantile,
        buckets=buckets,
        extra_report={"run_dir": str(run.directory), "task": runtime.task},
    )
    calibrate = f"calibrate on {len(calibration)} examples, " if mode in CALIBRATED_MODES else ""
    on_stage(f"{name}: convert, {calibrate}check parity")
    if strings_in:
        report = export_text_model(
            model,
            runtime.tokenizer,
            output,
            mode,
            pair=runtime.sentence_pairs,
            representative_texts=task_texts(calibration),
            verify_texts=task_texts(verification.eval),
            split=split_tokenizer,
            weight_bits=weight_bits,
            **options,
        )
        on_stage(f"{name}: task metrics on {len(verification.eval)} eval examples")
        report["accuracy"] = text_model_metrics(output.read_bytes(), verification)
    else:
        report = export_tflite(
            model,
            output,
            mode,
            sequence_length=runtime.tokenizer.sequence_length,
            representative_inputs=runtime.inputs(calibration),
            verify_inputs=runtime.inputs(verification.eval),
            weight_bits=weight_bits,
            **options,
        )
        on_stage(f"{name}: task metrics on {len(verification.eval)} eval examples")
        report["accuracy"] = verification.evaluate(TFLiteModelRunner(output.read_bytes()))
    if fit is not None:
        report["bucket_fit"] = fit
    report["keras_accuracy"] = verification.evaluate(model)
    report["accuracy_examples"] = len(verification.eval)
    if mode in CALIBRATED_MODES:
        report["calibration_examples"] = len(calibration)
    report["accuracy_unseen_labels"] = unseen_summary(
        verification.unseen, runtime.data_config.unseen_labels
    )
    if lsq_steps(model):
        # Below 8 bits the .tflite holds the low-bit grid in int8: the size it would take
        # packed at the trained bit widths, for comparison.
        report["packed_size_bytes"] = packed_size_bytes(model)
    if timing:
        on_stage(f"{name}: latency on this host (1 thread)")
        report.update(time_export(output, runtime, strings_in))
    write_json_atomic(report_path(output), report)
    return report


AUTO_BUCKETS = "auto"


def check_weight_bits(weight_bits, mode) -> None:
    """ConfigError unless packed weight storage applies: 2 or 4 bits, a `qat` export."""
    if not weight_bits:
        return
    if weight_bits not in WEIGHT_BITS:
        raise ConfigError(f"--weight-bits {weight_bits}: packed weights are 2 or 4 bits")
    if mode != "qat":
        raise ConfigError(
            f"--weight-bits packs the trained low-bit codes of a qat export; --mode {mode} holds "
            "int8 or float weights: use --mode qat on an LSQ run (tfcompress quantize)"
        )


def fit_buckets(runtime, examples) -> tuple[tuple, dict]:
    """(bucket lengths, a record of the fit) from the token lengths of `examples`."""
    lengths = np.concatenate(
        [np.asarray(batch["padding_mask"]).sum(axis=1) for batch in runtime.inputs(examples)]
    )
    full = runtime.tokenizer.sequence_length
    buckets = fitted_buckets(lengths, full)
    edges = np.array(buckets + (full,))
    padded = edges[np.searchsorted(edges, lengths)]
    fit = {
        "examples": int(lengths.size),
        "lengths": list(buckets),
        "mean_tokens": float(lengths.mean()),
        "mean_padded_length": float(padded.mean()),
        "sequence_length": full,
    }
    return buckets, fit


TIMING_RUNS = 100
TIMING_SENTENCES = 200


def time_export(tflite_path, runtime, strings_in, runs=TIMING_RUNS, sentences=TIMING_SENTENCES):
    """{"latency", "sentence_latency"} of a written export, 1 thread, a few seconds: `latency`
    as `tfcompress.latency.measure_latency` reports it (synthetic ids at the full length, or a
    sample sentence), `sentence_latency` over up to `sentences` of the run's eval sentences
    (strings in, or its tokenizer's ids), p50/p90/p99 per sentence."""
    from tfcompress.latency.host_timing import measure_latency
    from tfcompress.latency.sentence_timer import time_sentences

    feeds = sentence_feeds(runtime, runtime.eval.subset(sentences, seed=runtime.seed), strings_in)
    return {
        "latency": measure_latency(tflite_path, threads=(1,), runs=runs),
        "sentence_latency": time_sentences(tflite_path, feeds, rounds=3),
    }


def sentence_feeds(runtime, data, strings_in) -> list[dict]:
    """`data`'s sentences one by one, as a strings-in model takes them or as the run's
    tokenizer's ids."""
    from tfcompress.latency.sentence_timer import id_feeds, text_feeds

    texts, pairs = split_texts(task_texts(data), runtime.sentence_pairs)
    return text_feeds(texts, pairs) if strings_in else id_feeds(runtime.tokenizer, texts, pairs)


def text_model_metrics(content: bytes, runtime) -> dict:
    """Task metrics of a strings-in .tflite on `runtime`'s eval split, run from its texts."""
    texts, pairs = split_texts(task_texts(runtime.eval), runtime.sentence_pairs)
    outputs = run_text_model(load_text_interpreter(content), texts, pairs)
    return runtime.evaluate(ReplayedOutputs(outputs))


def task_texts(data):
    """A task's examples as the strings a phone app would pass: sentences, (sentence,
    sentence) pairs, or an utterance's words joined by spaces."""
    if hasattr(data, "texts_a"):
        if data.texts_b is None:
            return list(data.texts_a)
        return list(zip(data.texts_a, data.texts_b, strict=True))
    return [" ".join(words) for words in data.words]
