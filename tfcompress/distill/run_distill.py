"""`tfcompress distill`: teacher run → (PTP) → KD into a smaller or SPS student."""

import dataclasses
import hashlib
import json
import math
import shutil
import time
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from tfcompress.data import TextClassificationData, epoch_seed
from tfcompress.distill.distiller import Distiller
from tfcompress.distill.ptp import PTP_LABEL_NAMES, ptp_labels
from tfcompress.distill.strategies import (
    is_chief,
    make_strategy,
    scratch_directory,
    worker_count,
)
from tfcompress.distill.teacher_cache import (
    TeacherCache,
    align_words,
    example_arrays,
    fingerprint,
    with_cached_targets,
    word_start_positions,
)
from tfcompress.errors import ConfigError
from tfcompress.models import Encoder, EncoderConfig, build_classifier
from tfcompress.models.sps import sps_config
from tfcompress.models.student_init import init_from_teacher
from tfcompress.run_directory import RunDirectory
from tfcompress.run_plan import RunPlan, model_rows, task_plan
from tfcompress.tasks import FinishedRun, TaskRuntime
from tfcompress.tasks.pretrained_run import PretrainedRun
from tfcompress.training.engine import (
    default_verbosity,
    epoch_batches,
    make_optimizer,
    start_run,
    train_evaluate_save,
)


def student_encoder_config(student, teacher_config):
    """The teacher's dimensions with the student's depth, overrides and SPS plan."""
    values = {
        **teacher_config.to_dict(),
        **(student.encoder or {}),
        "num_layers": student.num_layers,
        "layer_plan": None,
    }
    config = EncoderConfig.from_dict(values, where="student.encoder")
    if student.sps_step:
        config = sps_config(config, student.sps_step, student.sps_reuse_top)
    return config


def build_student(config, teacher, runtime):
    if config.student.checkpoint:
        pretrained = PretrainedRun.read(config.student.checkpoint, role="student.checkpoint")
        return runtime.build_model(pretrained.load_encoder(pooling=config.student.pooling))
    teacher_encoder = teacher.encoder
    encoder = Encoder(
        student_encoder_config(config.student, teacher_encoder.config), name="encoder"
    )
    encoder.build()
    if config.student.init == "teacher":
        init_from_teacher(encoder, teacher_encoder, config.student.teacher_layers)
    return runtime.build_model(encoder)


def _data_fingerprint(runtime, teacher_dir, teacher_runtime, word_layers=()):
    model_file = teacher_dir / "model.keras"
    texts = hashlib.sha256(repr(_examples_key(runtime.train)).encode()).hexdigest()
    parts = [
        texts,
        runtime.tokenizer.sequence_length,
        str(model_file),
        model_file.stat().st_mtime_ns,
        model_file.stat().st_size,
    ]
    if teacher_runtime is not runtime:
        # Aligned to the student's tokenization: the student's vocabulary is part of the key.
        parts.append(hashlib.sha256("\n".join(runtime.tokenizer.vocab).encode()).hexdigest())
    if word_layers:
        parts.append(["word_hidden", *word_layers])
    return fingerprint(*parts)


def _examples_key(data):
    if isinstance(data, TextClassificationData):
        return data.texts_a, data.texts_b, data.labels.tolist()
    return data.words, data.tags, data.intents


def _word_aligner(runtime, teacher_runtime):
    """A cache transform moving token logits (and word states) from the teacher's
    tokenization to the student's, word by word (None when they share a tokenizer or the
    task has none)."""
    if teacher_runtime is runtime or runtime.task == "classification":
        return None
    logits = "logits.slot_logits" if runtime.task == "intent_slot" else "logits"

    def token_labels(task_runtime):
        for _, labels in task_runtime.dataset(task_runtime.train):
            yield labels["slot_logits"] if isinstance(labels, dict) else labels

    def align(arrays):
        source = word_start_positions(token_labels(teacher_runtime))
        target = word_start_positions(token_labels(runtime))
        aligned = dict(arrays)
        for field in (logits, "word_hidden"):
            if field in arrays:
                # Every field is moved by the same word starts: one mask serves them all.
                aligned[field], aligned["token_mask"] = align_words(
                    arrays[field], source, target
                )
        return aligned

    return align


def cached_training_data(
    runtime, teacher, teacher_dir, teacher_runtime=None, cache_root=None, word_layers=()
):
    """(cache, epoch → that epoch's training batches carrying cached teacher targets).

    The cache lives in the teacher's run directory under a fingerprint of the
    data, tokenizer and teacher weights, so every student of one teacher on one
    dataset shares it; it is built on first use. With a `teacher_runtime` of another
    tokenizer (a student with its own vocabulary) the teacher reads its own tokens and
    its token logits are aligned to the student's word starts. `word_layers`: teacher
    layers whose states are cached too (`teacher_targets`), aligned the same way.
    """
    teacher_runtime = teacher_runtime or runtime
    key = _data_fingerprint(runtime, teacher_dir, teacher_runtime, word_layers)
    cache = TeacherCache(Path(cache_root or teacher_dir) / "distill_cache" / key)
    if not cache.matches(key):
        cache.build(
            teacher,
            teacher_runtime.dataset(teacher_runtime.train),
            key,
            transform=_word_aligner(runtime, teacher_runtime),
            word_layers=word_layers,
        )
    # Tensors once for the run: every epoch's stream gathers from these, not from copies.
    examples = tf.nest.map_structure(
        tf.constant, example_arrays(runtime.dataset(runtime.train).unbatch())
    )

    def epoch_dataset(epoch):
        seed = epoch_seed(runtime.seed, epoch)
        return with_cached_targets(examples, cache, runtime.batch_size, shuffle=True, seed=seed)

    return cache, epoch_dataset


def _teacher_train_logits(runtime, teacher, cache):
    if cache is not None:
        return np.load(cache.directory / "logits.npy")
    dataset = runtime.dataset(runtime.train)
    return np.concatenate([np.asarray(teacher(x, training=False)) for x, _ in dataset])


def pretrain_with_teacher_predictions(config, runtime, teacher, student, cache, strategy, verbose):
    """PTP: train the student's encoder on teacher-behaviour labels, then a fresh task head."""
    ptp = config.ptp
    labels = ptp_labels(
        _teacher_train_logits(runtime, teacher, cache),
        runtime.train.labels,
        ptp.threshold,
        ptp.variant,
    )
    data = dataclasses.replace(
        runtime.train, labels=labels, label_names=list(PTP_LABEL_NAMES[ptp.variant])
    )
    dataset = runtime.dataset(data, training=True)
    encoder = student.encoder
    steps = math.ceil(len(data) / config.training.batch_size) * ptp.epochs
    with strategy.scope():
        ptp_model = build_classifier(encoder, len(PTP_LABEL_NAMES[ptp.variant]), name="ptp")
        # Keras clips per replica, which would scale steps with the replica count.
        clip = 1.0 if strategy.num_replicas_in_sync == 1 else None
        ptp_model.compile(
            make_optimizer(config.training, steps, clip_norm=clip),
            keras.losses.SparseCategoricalCrossentropy(from_logits=True),
            metrics=["accuracy"],
        )
    history = ptp_model.fit(dataset, epochs=ptp.epochs, verbose=verbose, shuffle=False)
    with strategy.scope():
        fresh = runtime.build_model(encoder)
    distribution = np.bincount(labels, minlength=len(PTP_LABEL_NAMES[ptp.variant]))
    return fresh, {
        "label_counts": distribution.tolist(),
        "final_accuracy": float(history.history["accuracy"][-1]),
    }


@dataclasses.dataclass
class PreparedDistill:
    """A distillation run checked and built, not yet trained (see `prepare_distill`)."""

    run: RunDirectory
    config_dict: dict
    resuming: bool
    teacher_run: FinishedRun
    runtime: TaskRuntime
    teacher_runtime: TaskRuntime
    teacher: keras.Model
    student: keras.Model
    plan: RunPlan
    word_layers: tuple  # teacher layers the "words" hidden target reads


def prepare_distill(config, overwrite=False, strategy=None):
    """Reads the teacher run and the data, builds teacher and student and checks they fit
    together, without writing anything; `tfcompress check` stops here."""
    strategy = strategy or make_strategy("default")
    if config.ptp.variant and worker_count(strategy) > 1:
        # PTP pretrains with plain Keras `fit`, which Keras 3.15 cannot run on 2+ workers.
        raise ConfigError(
            "ptp.variant: PTP pretraining does not run on more than one worker (Keras 3.15, "
            "tensorflow#72388); run the PTP recipe with one worker or strategy: mirrored"
        )
    run = RunDirectory(config.output_dir)
    config_dict = json.loads(json.dumps(config.to_dict()))
    resuming = run.check_can_start(config_dict, overwrite)
    keras.utils.set_random_seed(config.seed)
    teacher_run = FinishedRun.read(config.teacher, role="teacher")
    teacher_run.check_fits(config.task, config.data)
    runtime = teacher_runtime = TaskRuntime.from_recipe(
        config, tokenizer=teacher_run.tokenizer, labels=teacher_run.labels
    )
    if config.student.checkpoint:
        pretrained = PretrainedRun.read(config.student.checkpoint, role="student.checkpoint")
        length = config.student.sequence_length or teacher_run.tokenizer.sequence_length
        runtime = dataclasses.replace(teacher_runtime, tokenizer=pretrained.tokenizer(length))
    with strategy.scope():
        teacher = teacher_run.load_model()
        student = build_student(config, teacher, runtime)
        # Validates maps and widths up front.
        word_layers = Distiller(student, teacher, config.distillation).word_layers
    steps_per_epoch, _ = epoch_batches(config.training, runtime.train_dataset, len(runtime.train))
    source = ("teacher", teacher_run.directory)
    plan = task_plan("distill", run, resuming, runtime, config.training, steps_per_epoch, source)
    model_rows(plan, "teacher", teacher)
    model_rows(plan, "student", student)
    return PreparedDistill(
        run,
        config_dict,
        resuming,
        teacher_run,
        runtime,
        teacher_runtime,
        teacher,
        student,
        plan,
        word_layers,
    )


def run_distill(config, overwrite=False, callbacks=(), verbose=None):
    """Distils the teacher run into a student; returns (and writes) metrics.json's dict."""
    # The strategy comes first: multi-worker collectives must be set up before other TF ops.
    strategy = make_strategy(config.strategy, config.tpu)
    verbose = default_verbosity(verbose)
    scratch = None if is_chief(strategy) else scratch_directory(strategy)
    if scratch is not None:  # only the chief writes the run directory and the teacher's
        config = dataclasses.replace(config, output_dir=str(scratch / "run"))
    p = prepare_distill(config, overwrite, strategy)
    p.plan.print_warnings()
    run, config_dict, resuming, teacher_run = p.run, p.config_dict, p.resuming, p.teacher_run
    runtime, teacher_runtime, teacher, student = p.runtime, p.teacher_runtime, p.teacher, p.student

    start_run(run, config_dict, runtime, overwrite, resuming)
    started = time.perf_counter()
    cache = None
    if config.cache_teacher and not config.distillation.needs_intermediate_features:
        cache, epoch_dataset = cached_training_data(
            runtime,
            teacher,
            teacher_run.directory,
            teacher_runtime,
            cache_root=scratch,
            word_layers=p.word_layers,
        )
    else:
        epoch_dataset = runtime.train_dataset
    cache_seconds = time.perf_counter() - started
    ptp_summary = None
    if config.ptp.variant:
        if resuming and (run.path / "ptp.json").is_file():
            ptp_summary = json.loads((run.path / "ptp.json").read_text())
        else:
            student, ptp_summary = pretrain_with_teacher_predictions(
                config, runtime, teacher, student, cache, strategy, verbose
            )
            run.write_json("ptp.json", ptp_summary)

    steps_per_epoch, epoch_dataset = epoch_batches(
        config.training, epoch_dataset, len(runtime.train)
    )
    with strategy.scope():
        distiller = Distiller(student, teacher, config.distillation, gradient_clip_norm=1.0)
        distiller.compile(
            make_optimizer(
                config.training, steps_per_epoch * config.training.epochs, clip_norm=None
            )
        )
    summary = train_evaluate_save(
        distiller,
        runtime,
        epoch_dataset,
        config.training,
        run,
        steps_per_epoch,
        callbacks,
        verbose,
        task_model=student,
    )
    summary["teacher"] = {
        "run": str(teacher_run.directory),
        "eval": teacher_run.metrics["eval"],
        "parameters": int(teacher.count_params()),
    }
    summary["train"].update(
        teacher_cache_s=round(cache_seconds, 1) if cache is not None else None,
        replicas=strategy.num_replicas_in_sync,
        ptp=ptp_summary,
    )
    run.finish(summary)
    if scratch is not None:
        shutil.rmtree(scratch, ignore_errors=True)
    return summary
