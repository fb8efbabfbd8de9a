"""Fine-tune an encoder on a task: the engine behind `tfcompress finetune` and `demo`."""

import json

import keras

from tfcompress.models import Encoder, EncoderConfig, load_hf_encoder
from tfcompress.run_directory import RunDirectory
from tfcompress.tasks import TaskRuntime
from tfcompress.tasks.pretrained_run import PretrainedRun, is_pretrain_run
from tfcompress.training.engine import (
    epoch_steps,
    fit_in_run,
    make_optimizer,
    run_summary,
    start_run,
)


def build_encoder(model_config, vocab_size):
    if model_config.checkpoint and is_pretrain_run(model_config.checkpoint):
        run = PretrainedRun.read(model_config.checkpoint, role="model.checkpoint")
        return run.load_encoder(pooling=model_config.pooling)
    if model_config.checkpoint:
        return load_hf_encoder(
            model_config.checkpoint,
            max_length=model_config.sequence_length,
            pooling=model_config.pooling,
        )
    dims = {
        **model_config.encoder,
        "vocab_size": vocab_size,
        "max_length": model_config.sequence_length,
        "pooling": model_config.pooling,
    }
    return Encoder(EncoderConfig.from_dict(dims, where="model.encoder"), name="encoder")


def run_finetune(config, overwrite=False, callbacks=(), verbose=None):
    """Trains, evaluates and saves; returns the metrics dict also written to metrics.json.

    Everything that can fail on user input (config, data, vocab, checkpoint) is
    checked before the run directory is touched, so a bad invocation never
    damages an earlier run's outputs. Re-running a killed run resumes it.
    """
    run = RunDirectory(config.output_dir)
    config_dict = json.loads(json.dumps(config.to_dict()))  # tuples → lists, as YAML stores them
    resuming = run.check_can_start(config_dict, overwrite)
    keras.utils.set_random_seed(config.seed)
    runtime = TaskRuntime.from_recipe(config)
    encoder = build_encoder(config.model, runtime.tokenizer.vocab_size)
    model = runtime.build_model(encoder, dropout=config.model.head_dropout)
    steps_per_epoch, train_ds = epoch_steps(
        config.training, runtime.train_dataset(), len(runtime.train)
    )
    loss, metrics = runtime.losses_and_metrics()
    optimizer = make_optimizer(config.training, steps_per_epoch * config.training.epochs)
    model.compile(optimizer=optimizer, loss=loss, metrics=metrics)

    start_run(run, config_dict, runtime, overwrite, resuming)
    history, seconds = fit_in_run(
        model, train_ds, config.training, run, steps_per_epoch, callbacks, verbose
    )
    metrics = runtime.evaluate(model)
    run.save_model(model)
    summary = run_summary(runtime, model, metrics, history, steps_per_epoch, seconds)
    run.finish(summary)
    return summary
