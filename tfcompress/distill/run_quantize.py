"""`tfcompress quantize`: a finished float run → its LSQ-quantized copy trained with KDLSQ."""

import dataclasses
import json

import keras

from tfcompress.config_loading import dataclass_from_dict
from tfcompress.distill.quantization_distiller import QuantizationDistiller
from tfcompress.models.quantized_copy import (
    initialize_steps,
    lsq_steps,
    packed_size_bytes,
    quantized_copy,
)
from tfcompress.run_directory import RunDirectory
from tfcompress.run_plan import RunPlan, model_rows, task_plan
from tfcompress.tasks import FinishedRun, TaskRuntime
from tfcompress.tasks.data_config import DataConfig
from tfcompress.training.engine import (
    bert_adamw,
    default_verbosity,
    epoch_batches,
    start_run,
    train_evaluate_save,
)


def linear_decay(learning_rate, total_steps):
    """`learning_rate` decayed linearly to 0 over `total_steps`."""
    return keras.optimizers.schedules.PolynomialDecay(
        learning_rate, decay_steps=max(total_steps, 1), end_learning_rate=0.0, power=1.0
    )


def make_optimizers(training, total_steps):
    """(weights, weight steps, activation steps): AdamW on the weights (no decay on biases
    and LayerNorms), Adam without weight decay on the steps."""
    weights = bert_adamw(linear_decay(training.learning_rate, total_steps), training.weight_decay)
    weight_steps = keras.optimizers.Adam(
        linear_decay(training.weight_step_learning_rate, total_steps)
    )
    activation_steps = keras.optimizers.Adam(
        linear_decay(training.activation_step_learning_rate, total_steps)
    )
    return weights, weight_steps, activation_steps


def resolved_data_config(config, source):
    """The source run's data section with the recipe's `data` settings on top."""
    values = {**source.config["data"], **(config.data or {})}
    return dataclass_from_dict(DataConfig, values, where="data")


@dataclasses.dataclass
class _RuntimeRecipe:
    """What `TaskRuntime.from_recipe` reads, for a run whose task comes from its source."""

    task: str
    data: DataConfig
    training: object
    seed: int


@dataclasses.dataclass
class PreparedQuantize:
    """A KDLSQ run checked and built, not yet trained (see `prepare_quantize`)."""

    run: RunDirectory
    config_dict: dict
    resuming: bool
    source: FinishedRun
    runtime: TaskRuntime
    teacher: keras.Model
    student: keras.Model
    plan: RunPlan


def prepare_quantize(config, overwrite=False):
    """Reads the source run and the data, builds teacher and student: everything that can
    fail before a run directory is written; `tfcompress check` stops here."""
    run = RunDirectory(config.output_dir)
    keras.utils.set_random_seed(config.seed)
    source = FinishedRun.read(config.source, role="source")
    data = resolved_data_config(config, source)
    source.check_fits(source.task, data, role="source")
    config_dict = json.loads(json.dumps(config.to_dict()))
    config_dict.update(task=source.task, data=dataclasses.asdict(data))
    resuming = run.check_can_start(config_dict, overwrite)
    runtime = TaskRuntime.from_recipe(
        _RuntimeRecipe(source.task, data, config.training, config.seed),
        tokenizer=source.tokenizer,
        labels=source.labels,
    )
    teacher = source.load_model()
    student = quantized_copy(
        teacher,
        config.quantization.parsed_scheme,
        per_channel=config.quantization.per_channel,
        init=config.quantization.step_initialization,
    )
    steps_per_epoch, _ = epoch_batches(config.training, runtime.train_dataset, len(runtime.train))
    origin = ("source (float teacher)", source.directory)
    plan = task_plan("quantize", run, resuming, runtime, config.training, steps_per_epoch, origin)
    model_rows(plan, "student", student)
    plan.add("LSQ step sizes", len(lsq_steps(student)))
    return PreparedQuantize(run, config_dict, resuming, source, runtime, teacher, student, plan)


def run_quantize(config, overwrite=False, callbacks=(), verbose=None):
    """Trains the quantized copy of `config.source`; returns (and writes) metrics.json's dict."""
    verbose = default_verbosity(verbose)
    p = prepare_quantize(config, overwrite)
    p.plan.print_warnings()
    run, source, runtime, teacher, student = p.run, p.source, p.runtime, p.teacher, p.student
    distiller = QuantizationDistiller(
        student, teacher, config.distillation_config, gradient_clip_norm=1.0
    )
    start_run(run, p.config_dict, runtime, overwrite, p.resuming)

    init = config.quantization.step_initialization
    if init.method == "algorithm1":
        # One random training batch; on resume the restored steps replace these.
        inputs, _ = next(iter(runtime.train_dataset()))
        initialize_steps(student, inputs, init)
    before = runtime.evaluate(student)

    steps_per_epoch, epoch_dataset = epoch_batches(
        config.training, runtime.train_dataset, len(runtime.train)
    )
    distiller.compile(*make_optimizers(config.training, steps_per_epoch * config.training.epochs))
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
    summary["source"] = {"run": str(source.directory), "eval": source.metrics["eval"]}
    summary["eval_before_training"] = before
    summary["quantization"] = {
        "scheme": config.quantization.scheme,
        "method": config.method,
        "init": init.method,
        "steps": len(lsq_steps(student)),
    }
    packed = packed_size_bytes(student)
    summary["model"].update(packed_bytes=packed, packed_mb=round(packed / 2**20, 3))
    run.finish(summary)
    return summary
