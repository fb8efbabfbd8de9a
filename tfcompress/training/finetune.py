"""Fine-tune an encoder on a task: the engine behind `tfcompress finetune` and `demo`."""

import dataclasses
import json

import keras

from tfcompress.models import Encoder, EncoderConfig, load_hf_encoder
from tfcompress.models.keras_hub_bert import is_keras_hub_preset, load_keras_hub_encoder
from tfcompress.run_directory import RunDirectory
from tfcompress.run_plan import RunPlan, model_rows, task_plan
from tfcompress.tasks import TaskRuntime
from tfcompress.tasks.pretrained_run import PretrainedRun, is_pretrain_run
from tfcompress.training.engine import (
    epoch_batches,
    make_optimizer,
    start_run,
    train_evaluate_save,
)


def build_encoder(model_config, vocab_size):
    if model_config.checkpoint and is_pretrain_run(model_config.checkpoint):
        run = PretrainedRun.read(model_config.checkpoint, role="model.checkpoint")
        return run.load_encoder(pooling=model_config.pooling)
    if model_config.checkpoint and is_keras_hub_preset(model_config.checkpoint):
        return load_keras_hub_encoder(
            model_config.checkpoint,
            max_length=model_config.sequence_length,
            pooling=model_config.pooling,
        )
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


@dataclasses.dataclass
class PreparedFinetune:
    """A finetune run checked and built, not yet trained (see `prepare_finetune`)."""

    run: RunDirectory
    config_dict: dict
    resuming: bool
    runtime: TaskRuntime
    model: keras.Model
    steps_per_epoch: int
    epoch_dataset: object
    plan: RunPlan


def prepare_finetune(config, overwrite=False):
    """Everything that can fail on user input (output directory, data, labels, vocab,
    checkpoint, model), done without writing anything; `tfcompress check` stops here."""
    run = RunDirectory(config.output_dir)
    config_dict = json.loads(json.dumps(config.to_dict()))  # tuples → lists, as YAML stores them
    resuming = run.check_can_start(config_dict, overwrite)
    keras.utils.set_random_seed(config.seed)
    runtime = TaskRuntime.from_recipe(config)
    encoder = build_encoder(config.model, runtime.tokenizer.vocab_size)
    model = runtime.build_model(encoder, dropout=config.model.head_dropout)
    steps_per_epoch, epoch_dataset = epoch_batches(
        config.training, runtime.train_dataset, len(runtime.train)
    )
    plan = task_plan("finetune", run, resuming, runtime, config.training, steps_per_epoch)
    model_rows(plan, "model", model)
    return PreparedFinetune(
        run, config_dict, resuming, runtime, model, steps_per_epoch, epoch_dataset, plan
    )


def run_finetune(config, overwrite=False, callbacks=(), verbose=None):
    """Trains, evaluates and saves; returns the metrics dict also written to metrics.json.

    `prepare_finetune` checks everything first, so a bad invocation never damages an
    earlier run's outputs. Re-running a killed run resumes it.
    """
    p = prepare_finetune(config, overwrite)
    p.plan.print_warnings()
    runtime, model = p.runtime, p.model
    loss, metrics = runtime.losses_and_metrics()
    optimizer = make_optimizer(config.training, p.steps_per_epoch * config.training.epochs)
    model.compile(optimizer=optimizer, loss=loss, metrics=metrics)

    start_run(p.run, p.config_dict, runtime, overwrite, p.resuming)
    summary = train_evaluate_save(
        model,
        runtime,
        p.epoch_dataset,
        config.training,
        p.run,
        p.steps_per_epoch,
        callbacks,
        verbose,
    )
    p.run.finish(summary)
    return summary
