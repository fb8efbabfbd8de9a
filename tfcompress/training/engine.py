"""What every trainer shares: the optimizer, `fit` inside a run directory, the run summary."""

import functools
import math
import sys
import time

import keras

from tfcompress.tasks.unseen_labels import unseen_summary
from tfcompress.training.atomic_model_checkpoint import AtomicModelCheckpoint
from tfcompress.training.epoch_backup import EpochBackup
from tfcompress.training.history_csv import HistoryCsv, last_logged
from tfcompress.training.nan_guard import NaNGuard


def make_optimizer(t, total_steps, clip_norm=1.0):
    """AdamW with linear warmup then cosine decay, no decay on biases/LayerNorm, and
    gradients clipped to `clip_norm` (None: no clipping; the Distiller clips itself)."""
    warmup = int(total_steps * t.warmup_ratio)
    schedule = keras.optimizers.schedules.CosineDecay(
        initial_learning_rate=0.0 if warmup else t.learning_rate,
        decay_steps=max(total_steps - warmup, 1),
        warmup_target=t.learning_rate if warmup else None,
        warmup_steps=warmup,
    )
    return bert_adamw(schedule, t.weight_decay, clip_norm)


def bert_adamw(schedule, weight_decay, clip_norm=None):
    """AdamW as BERT fine-tuning uses it: no weight decay on biases and LayerNorm parameters."""
    optimizer = keras.optimizers.AdamW(
        schedule, weight_decay=weight_decay, epsilon=1e-6, global_clipnorm=clip_norm
    )
    optimizer.exclude_from_weight_decay(var_names=["bias", "gamma", "beta"])
    return optimizer


def epoch_batches(training, epoch_dataset, num_examples):
    """(steps per epoch, epoch → that epoch's batches), from `epoch_dataset(epoch)` (one
    shuffled pass): a fixed `steps_per_epoch` repeats the pass as often as it needs."""
    if training.steps_per_epoch:
        steps = training.steps_per_epoch
        return steps, lambda epoch: epoch_dataset(epoch).repeat().take(steps)
    return math.ceil(num_examples / training.batch_size), epoch_dataset


def default_verbosity(verbose=None):
    """A progress bar on a terminal, one line per epoch in logs."""
    return verbose if verbose is not None else (1 if sys.stdout.isatty() else 2)


def fit_in_run(
    model,
    epoch_dataset,
    training,
    run,
    steps_per_epoch,
    callbacks=(),
    verbose=None,
    checkpoint_model=None,
):
    """`model.fit` over `epoch_dataset(epoch)` for each epoch still to run, with the run
    directory's callbacks: the epoch backup (a killed run resumes at its last finished
    epoch, on the same data order), CSV history, an epoch checkpoint of
    `checkpoint_model` (default `model`), and the NaN guard. Returns (history, seconds)."""
    backup = EpochBackup(run.backup_dir)
    start = backup.restore(model)
    stream = functools.reduce(
        lambda a, b: a.concatenate(b),
        [epoch_dataset(epoch) for epoch in range(start, max(training.epochs, start + 1))],
    )
    started = time.perf_counter()
    history = model.fit(
        stream,
        initial_epoch=start,
        epochs=training.epochs,
        steps_per_epoch=steps_per_epoch,
        shuffle=False,  # the tf.data pipeline shuffles
        verbose=default_verbosity(verbose),
        callbacks=[
            # History first: a kill after the backup must not lose the epoch's row.
            HistoryCsv(run.history_path),
            backup,
            AtomicModelCheckpoint(run.checkpoint_path, model=checkpoint_model),
            NaNGuard(),
            *callbacks,
        ],
    )
    return history, time.perf_counter() - started


def train_evaluate_save(
    model,
    runtime,
    epoch_dataset,
    training,
    run,
    steps_per_epoch,
    callbacks,
    verbose,
    task_model=None,
):
    """`fit_in_run`, then the task model (`task_model`, default `model`: a distiller trains a
    student) evaluated and saved in the run. Returns the common part of metrics.json."""
    task_model = task_model or model
    history, seconds = fit_in_run(
        model, epoch_dataset, training, run, steps_per_epoch, callbacks, verbose, task_model
    )
    metrics = runtime.evaluate(task_model)
    run.save_model(task_model)
    return run_summary(runtime, task_model, metrics, history, steps_per_epoch, seconds, run)


def start_run(run, config_dict, runtime, overwrite, resuming):
    """Writes what a finished run must hold besides its model and metrics."""
    run.start(config_dict, overwrite=overwrite, resuming=resuming)
    tokenizer = runtime.tokenizer
    run.write_text("vocab.txt", "\n".join(tokenizer.vocab) + "\n")
    run.write_json(
        "tokenizer.json",
        {"sequence_length": tokenizer.sequence_length, "lower_case": tokenizer.lower_case},
    )
    run.write_json("labels.json", runtime.labels)


def final_loss(run):
    """The last epoch's training loss, whichever session trained it: a run killed after its
    last epoch's backup trains no epoch when it resumes."""
    return last_logged(run.history_path, "loss")


def run_summary(runtime, model, metrics, history, steps_per_epoch, seconds, run):
    """The common part of metrics.json for a finished run."""
    epochs_run = len(history.history.get("loss", []))
    return {
        "task": runtime.task,
        "eval": metrics,
        "eval_examples": len(runtime.eval),
        "eval_skipped_malformed": getattr(runtime.eval, "skipped", 0),
        "eval_unseen_labels": unseen_summary(runtime.unseen, runtime.data_config.unseen_labels),
        "train": {
            "examples": len(runtime.train),
            "skipped_malformed": getattr(runtime.train, "skipped", 0),
            "epochs_this_session": epochs_run,
            "steps_this_session": epochs_run * steps_per_epoch,
            "wall_time_s": round(seconds, 1),
            "final_loss": final_loss(run),
        },
        "model": {
            "parameters": int(model.count_params()),
            "float32_mb": round(model.count_params() * 4 / 2**20, 2),
            "executed_layers": model.encoder.config.num_executed_layers,
            "encoder": model.encoder.config.to_dict(),
        },
    }
