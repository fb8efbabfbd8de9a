"""Distillation throughput with the teacher run live vs. its outputs streamed from the cache.

Measured interleaved (live, cached, teacher alone, live, cached, ...) on one machine in one
process; reports the median examples/s of each and their ratio, plus the one-off cache build
time. A cached step still runs the student's forward and backward pass, so the speedup is
bounded by live time / (live time - teacher forward time): "teacher alone" times the teacher's
forward pass (inference, the same batches) over the same epoch, and `speedup_bound` is that
bound from the medians.

Usage (repository root, after configs/teacher_sst2_minilm.yaml has run):
  python benchmarks/teacher_cache_speedup.py --teacher runs/teacher_sst2_minilm \
      --train ../shared/data/sst2/train.tsv --examples 1024 --repeats 3
"""

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

import keras

from tfcompress.data import read_glue_tsv
from tfcompress.distill import DistillationConfig, Distiller
from tfcompress.distill.distill_run_config import StudentConfig
from tfcompress.distill.run_distill import student_encoder_config
from tfcompress.distill.teacher_cache import TeacherCache, example_arrays, with_cached_targets
from tfcompress.models import Encoder, build_classifier
from tfcompress.models.student_init import init_from_teacher
from tfcompress.tasks import FinishedRun, TaskRuntime


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--teacher", required=True)
    parser.add_argument("--train", required=True)
    parser.add_argument("--glue-task", default="sst2")
    parser.add_argument("--examples", type=int, default=1024)
    parser.add_argument("--student-layers", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    run = FinishedRun.read(args.teacher, role="--teacher")
    run.check_fits("classification", role="--teacher")
    data = read_glue_tsv(args.train, args.glue_task).subset(args.examples, seed=0)
    teacher = run.load_model()
    student_encoder = Encoder(
        student_encoder_config(
            StudentConfig(num_layers=args.student_layers), teacher.encoder.config
        )
    )
    init_from_teacher(student_encoder, teacher.encoder)
    student = build_classifier(student_encoder, len(run.labels["labels"]))

    runtime = TaskRuntime(
        task="classification",
        data_config=run.data_config,
        train=data,
        eval=data,
        labels=run.labels,
        tokenizer=run.tokenizer,
        batch_size=args.batch_size,
        eval_batch_size=args.batch_size,
    )
    live = runtime.train_dataset()
    started = time.perf_counter()
    cache = TeacherCache(Path(tempfile.mkdtemp()) / "cache").build(
        teacher, runtime.dataset(data), "bench"
    )
    build_seconds = time.perf_counter() - started
    cached = with_cached_targets(
        example_arrays(runtime.dataset(data).unbatch()),
        cache,
        args.batch_size,
        shuffle=True,
        seed=0,
    )

    distiller = Distiller(student, teacher, DistillationConfig(hidden=100.0, temperature=5.0))
    distiller.compile(keras.optimizers.AdamW(1e-5))
    for dataset in (live, cached):  # trace both signatures before timing
        distiller.fit(dataset.take(2), epochs=1, verbose=0, shuffle=False)
    teacher.predict(live.take(2), verbose=0)  # trace the teacher-alone pass too
    rates = {"live": [], "cached": [], "teacher_alone": []}
    for _ in range(args.repeats):
        for name, dataset in (("live", live), ("cached", cached)):
            started = time.perf_counter()
            distiller.fit(dataset, epochs=1, verbose=0, shuffle=False)
            rates[name].append(args.examples / (time.perf_counter() - started))
        started = time.perf_counter()
        teacher.predict(live, verbose=0)
        rates["teacher_alone"].append(args.examples / (time.perf_counter() - started))
    live_rate, cached_rate, teacher_rate = (
        statistics.median(rates[k]) for k in ("live", "cached", "teacher_alone")
    )
    # Seconds per example: a live step = teacher forward + the rest (the student's step).
    teacher_share = live_rate / teacher_rate
    print(
        json.dumps(
            {
                "examples": args.examples,
                "repeats": args.repeats,
                "student_layers": args.student_layers,
                "teacher_parameters": int(teacher.count_params()),
                "student_parameters": int(student.count_params()),
                "live_examples_per_s": round(live_rate, 1),
                "cached_examples_per_s": round(cached_rate, 1),
                "speedup": round(cached_rate / live_rate, 2),
                "teacher_alone_examples_per_s": round(teacher_rate, 1),
                "teacher_share_of_live_step": round(teacher_share, 3),
                "speedup_bound": round(1 / (1 - teacher_share), 2) if teacher_share < 1 else None,
                "cache_build_s": round(build_seconds, 1),
                # Rates are only comparable on quiet cores: a load near 0 before and after.
                "load_average_at_end": [round(v, 2) for v in os.getloadavg()],
                "rates": {k: [round(v, 1) for v in vs] for k, vs in rates.items()},
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
