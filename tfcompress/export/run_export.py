"""Export a finished run directory: its model, its tokenizer, its task data for calibration."""

import json
import types
from pathlib import Path

import keras
import yaml

from tfcompress.data import WordPieceTokenizer
from tfcompress.errors import ConfigError
from tfcompress.export import DEFAULT_RANGE_QUANTILE
from tfcompress.export.tflite_export import export_tflite
from tfcompress.export.tflite_model_runner import TFLiteModelRunner
from tfcompress.training.config_loading import dataclass_from_dict
from tfcompress.training.finetune import TaskSetup, evaluate, load_task_data, make_dataset
from tfcompress.training.finetune_config import DataConfig

RUN_FILES = ("model.keras", "config.yaml", "vocab.txt", "labels.json")


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
) -> dict:
    """Export `RUN_DIR/model.keras` to `RUN_DIR/export/<mode>.tflite` (+ `.json` report).

    Calibration examples come from the run's training data, verification examples from its
    eval data (`verify_examples=0`: all of it); the report adds the task metrics of the
    TFLite model and of the Keras model on those same examples.
    """
    run = _read_run(Path(run_dir))
    output = Path(output) if output else run.directory / "export" / f"{mode}.tflite"
    setup, config = run.setup, run.task_config
    calibration = setup.train.subset(representative_examples, seed=config.seed)
    evaluation = setup.eval.subset(verify_examples or len(setup.eval), seed=config.seed)
    eval_setup = TaskSetup(setup.train, evaluation, setup.labels, setup.tokenizer)
    representative = _inputs_only(make_dataset(config, setup, calibration, training=False))
    verify = _inputs_only(make_dataset(config, eval_setup, evaluation, training=False))
    report = export_tflite(
        run.model,
        output,
        mode,
        sequence_length=setup.tokenizer.sequence_length,
        representative_inputs=representative,
        verify_inputs=verify,
        min_agreement=min_agreement,
        max_abs_diff=max_abs_diff,
        float_ops=float_ops,
        equalize=equalize,
        range_quantile=range_quantile,
        extra_report={"run_dir": str(run.directory), "task": config.task},
    )
    return _add_accuracy(report, output, run, eval_setup, evaluation)


def _add_accuracy(report, output, run, eval_setup, evaluation):
    from tfcompress.atomic_write import write_json_atomic
    from tfcompress.export.tflite_export import report_path

    config = run.task_config
    dataset = make_dataset(config, eval_setup, evaluation, training=False)
    runner = TFLiteModelRunner(output.read_bytes())
    report["accuracy"] = evaluate(runner, config, eval_setup, dataset)
    report["keras_accuracy"] = evaluate(run.model, config, eval_setup, dataset)
    report["accuracy_examples"] = len(evaluation)
    write_json_atomic(report_path(output), report)
    return report


def _inputs_only(dataset):
    return [inputs for inputs, _ in dataset]


def _read_run(directory: Path):
    if not directory.is_dir():
        raise ConfigError(f"{directory}: no such run directory")
    missing = [name for name in RUN_FILES if not (directory / name).is_file()]
    if missing:
        raise ConfigError(
            f"{directory} is not a finished run (missing {', '.join(missing)}); "
            "run `tfcompress finetune` or `tfcompress distill` first"
        )
    config = yaml.safe_load((directory / "config.yaml").read_text())
    model_config = _model_section(config, directory)
    tokenizer = WordPieceTokenizer.from_vocab_file(
        directory / "vocab.txt",
        sequence_length=model_config["sequence_length"],
        lower_case=model_config.get("lower_case", True),
    )
    seed = config.get("seed", 0)
    data = dataclass_from_dict(DataConfig, config["data"], where="data")
    task_config = types.SimpleNamespace(
        task=config["task"],
        data=data,
        seed=seed,
        training=types.SimpleNamespace(batch_size=32, eval_batch_size=32),
    )
    train, evaluation = load_task_data(task_config)
    labels = json.loads((directory / "labels.json").read_text())
    return types.SimpleNamespace(
        directory=directory,
        model=keras.models.load_model(directory / "model.keras", safe_mode=True),
        task_config=task_config,
        setup=TaskSetup(train, evaluation, labels, tokenizer),
    )


def _model_section(config, directory):
    """The `model:` section with sequence_length: a distill run takes it from its teacher."""
    if "model" in config and "sequence_length" in config["model"]:
        return config["model"]
    teacher = config.get("teacher")
    if teacher and (Path(teacher) / "config.yaml").is_file():
        return _model_section(yaml.safe_load((Path(teacher) / "config.yaml").read_text()), teacher)
    raise ConfigError(
        f"{directory}/config.yaml: no model.sequence_length (nor a teacher run that has one)"
    )
