"""Fine-tune an encoder on a task: the engine behind `tfcompress finetune` and `demo`."""

import dataclasses
import json
import math
import sys
import time

import keras
import numpy as np

from tfcompress.data import (
    GLUE_TASKS,
    WordPieceTokenizer,
    classification_dataset,
    classification_metrics,
    generate_intent_slot_data,
    intent_slot_dataset,
    learn_wordpiece_vocabulary,
    read_glue_tsv,
    read_intent_slot_dir,
    read_vocabulary,
    slot_f1,
    synthetic_label_names,
    tagging_dataset,
    word_level_predictions,
)
from tfcompress.errors import CheckpointError
from tfcompress.models import (
    Encoder,
    EncoderConfig,
    build_classifier,
    build_intent_slot_model,
    build_tagger,
    load_hf_encoder,
)
from tfcompress.models.hf_checkpoint import checkpoint_lower_case, read_hf_config
from tfcompress.training.atomic_model_checkpoint import AtomicModelCheckpoint
from tfcompress.training.nan_guard import NaNGuard
from tfcompress.training.run_directory import RunDirectory


@dataclasses.dataclass
class TaskSetup:
    """Everything read and validated before a run writes anything."""

    train: object
    eval: object
    labels: dict
    tokenizer: WordPieceTokenizer


def load_task_data(config):
    data, seed = config.data, config.seed
    if data.format == "glue":
        train = read_glue_tsv(data.train, data.glue_task, skip_malformed=data.skip_malformed)
        evaluation = read_glue_tsv(data.eval, data.glue_task, skip_malformed=data.skip_malformed)
    elif data.format == "intent_slot":
        train = read_intent_slot_dir(data.train, skip_malformed=data.skip_malformed)
        evaluation = read_intent_slot_dir(data.eval, skip_malformed=data.skip_malformed)
    else:
        train = generate_intent_slot_data(data.synthetic_train_examples, seed=seed)
        evaluation = generate_intent_slot_data(data.synthetic_eval_examples, seed=seed + 1)
    if data.train_subset:
        train = train.subset(data.train_subset, seed=seed)
    if data.eval_subset:
        evaluation = evaluation.subset(data.eval_subset, seed=seed)
    return train, evaluation


def _training_texts(train):
    if hasattr(train, "texts_a"):
        return train.texts_a + (train.texts_b or [])
    return [" ".join(words) for words in train.words]


def _tokenizer(model_config, train):
    """From the checkpoint's vocab.txt, a given vocab.txt, or a vocabulary learned from `train`."""
    options = {
        "sequence_length": model_config.sequence_length,
        "lower_case": model_config.lower_case,
    }
    if model_config.checkpoint:
        checkpoint = read_hf_config(model_config.checkpoint, model_config.sequence_length)
        expected = checkpoint.vocab_size
        options["lower_case"] = checkpoint_lower_case(
            model_config.checkpoint, model_config.lower_case
        )
        path = f"{model_config.checkpoint}/vocab.txt"
        size = len(read_vocabulary(path))
        if size != expected:
            raise CheckpointError(
                f"{path} has {size} tokens but config.json says vocab_size {expected}; "
                "use the vocab.txt that came with the checkpoint"
            )
        return WordPieceTokenizer.from_vocab_file(path, **options)
    if model_config.vocab:
        return WordPieceTokenizer.from_vocab_file(model_config.vocab, **options)
    vocab = learn_wordpiece_vocabulary(
        _training_texts(train), model_config.learn_vocab_size, lower_case=model_config.lower_case
    )
    return WordPieceTokenizer(vocab, **options)


def _label_names(config, train):
    if config.task == "classification":
        return {"labels": list(GLUE_TASKS[config.data.glue_task].label_names)}
    if config.data.format == "synthetic":
        return synthetic_label_names()
    return {"intents": train.intent_names(), "tags": train.tag_names()}


def prepare_task(config):
    train, evaluation = load_task_data(config)
    tokenizer = _tokenizer(config.model, train)
    return TaskSetup(train, evaluation, _label_names(config, train), tokenizer)


def build_encoder(model_config, vocab_size):
    if model_config.checkpoint:
        return load_hf_encoder(model_config.checkpoint, max_length=model_config.sequence_length)
    dims = {
        **model_config.encoder,
        "vocab_size": vocab_size,
        "max_length": model_config.sequence_length,
    }
    return Encoder(EncoderConfig.from_dict(dims, where="model.encoder"), name="encoder")


def build_task_model(task, encoder, labels, dropout=0.1):
    if task == "classification":
        return build_classifier(encoder, len(labels["labels"]), dropout=dropout)
    if task == "tagging":
        return build_tagger(encoder, len(labels["tags"]), dropout=dropout)
    return build_intent_slot_model(
        encoder, len(labels["intents"]), len(labels["tags"]), dropout=dropout
    )


def make_dataset(config, setup, data, training):
    batch = config.training.batch_size if training else config.training.eval_batch_size
    options = {"shuffle": training, "seed": config.seed}
    if config.task == "classification":
        return classification_dataset(data, setup.tokenizer, batch, **options)
    if config.task == "tagging":
        return tagging_dataset(data, setup.tokenizer, setup.labels["tags"], batch, **options)
    return intent_slot_dataset(
        data, setup.tokenizer, setup.labels["intents"], setup.labels["tags"], batch, **options
    )


def _losses_and_metrics(task):
    def cross_entropy(ignore_class=None):
        return keras.losses.SparseCategoricalCrossentropy(
            from_logits=True, ignore_class=ignore_class
        )

    if task == "classification":
        return cross_entropy(), ["accuracy"]
    if task == "tagging":
        return cross_entropy(ignore_class=-1), None
    losses = {"intent_logits": cross_entropy(), "slot_logits": cross_entropy(ignore_class=-1)}
    return losses, {"intent_logits": ["accuracy"]}


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
    optimizer = keras.optimizers.AdamW(
        schedule, weight_decay=t.weight_decay, epsilon=1e-6, global_clipnorm=clip_norm
    )
    # BERT practice: no weight decay on biases and LayerNorm parameters.
    optimizer.exclude_from_weight_decay(var_names=["bias", "gamma", "beta"])
    return optimizer


def compile_for_finetuning(model, config, total_steps):
    optimizer = make_optimizer(config.training, total_steps)
    loss, metrics = _losses_and_metrics(config.task)
    model.compile(optimizer=optimizer, loss=loss, metrics=metrics)


def _predictions_and_labels(model, dataset):
    outputs, labels = [], []
    for inputs, y in dataset:
        outputs.append(keras.tree.map_structure(np.asarray, model(inputs, training=False)))
        labels.append(keras.tree.map_structure(np.asarray, y))
    return (
        keras.tree.map_structure(lambda *xs: np.concatenate(xs), *outputs),
        keras.tree.map_structure(lambda *xs: np.concatenate(xs), *labels),
    )


def _word_tags(slot_logits, slot_labels, data, tag_names):
    predicted = word_level_predictions(slot_logits.argmax(-1), slot_labels)
    # Words cut off by sequence_length get no prediction: score them as "O".
    return [
        [tag_names[i] for i in row] + ["O"] * (len(words) - len(row))
        for row, words in zip(predicted, data.words, strict=True)
    ]


def evaluate(model, config, setup, dataset):
    """Task metrics on the eval split, computed on words / examples, not tokens."""
    outputs, labels = _predictions_and_labels(model, dataset)
    data = setup.eval
    if config.task == "classification":
        names = GLUE_TASKS[config.data.glue_task].metric_names
        return classification_metrics(names, labels, outputs.argmax(-1))
    if config.task == "tagging":
        return {
            "slot_f1": slot_f1(data.tags, _word_tags(outputs, labels, data, setup.labels["tags"]))
        }
    tags = _word_tags(outputs["slot_logits"], labels["slot_logits"], data, setup.labels["tags"])
    intents_right = outputs["intent_logits"].argmax(-1) == labels["intent_logits"]
    slots_right = np.array([p == t for p, t in zip(tags, data.tags, strict=True)])
    return {
        "intent_accuracy": float(intents_right.mean()),
        "slot_f1": slot_f1(data.tags, tags),
        "sentence_accuracy": float((intents_right & slots_right).mean()),
    }


def epoch_steps(config, train_ds, num_examples):
    """(steps per epoch, dataset): a fixed `steps_per_epoch` needs a repeating dataset."""
    if config.training.steps_per_epoch:
        return config.training.steps_per_epoch, train_ds.repeat()
    return math.ceil(num_examples / config.training.batch_size), train_ds


def fit_in_run(
    model, train_ds, config, run, steps_per_epoch, callbacks=(), verbose=None, checkpoint_model=None
):
    """`model.fit` with the run directory's callbacks: resumable backup, CSV history, an
    epoch checkpoint of `checkpoint_model` (default `model`), and the NaN guard.
    Returns (history, seconds)."""
    started = time.perf_counter()
    history = model.fit(
        train_ds,
        epochs=config.training.epochs,
        steps_per_epoch=steps_per_epoch,
        shuffle=False,  # the tf.data pipeline shuffles
        verbose=verbose if verbose is not None else (1 if sys.stdout.isatty() else 2),
        callbacks=[
            keras.callbacks.BackupAndRestore(str(run.backup_dir), delete_checkpoint=False),
            keras.callbacks.CSVLogger(str(run.history_path), append=True),
            AtomicModelCheckpoint(run.checkpoint_path, model=checkpoint_model),
            NaNGuard(),
            *callbacks,
        ],
    )
    return history, time.perf_counter() - started


def run_summary(config, setup, model, metrics, history, steps_per_epoch, seconds):
    """The common part of metrics.json for a finished run."""
    epochs_run = len(history.history.get("loss", []))
    return {
        "task": config.task,
        "eval": metrics,
        "eval_examples": len(setup.eval),
        "eval_skipped_malformed": getattr(setup.eval, "skipped", 0),
        "train": {
            "examples": len(setup.train),
            "skipped_malformed": getattr(setup.train, "skipped", 0),
            "epochs_this_session": epochs_run,
            "steps_this_session": epochs_run * steps_per_epoch,
            "wall_time_s": round(seconds, 1),
            "final_loss": float(history.history["loss"][-1]) if epochs_run else None,
        },
        "model": {
            "parameters": int(model.count_params()),
            "float32_mb": round(model.count_params() * 4 / 2**20, 2),
            "executed_layers": model.encoder.config.num_executed_layers,
            "encoder": model.encoder.config.to_dict(),
        },
    }


def start_run(run, config_dict, setup, overwrite, resuming):
    run.start(config_dict, overwrite=overwrite, resuming=resuming)
    run.write_text("vocab.txt", "\n".join(setup.tokenizer.vocab) + "\n")
    run.write_json("labels.json", setup.labels)


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
    setup = prepare_task(config)
    model = build_task_model(
        config.task,
        build_encoder(config.model, setup.tokenizer.vocab_size),
        setup.labels,
        dropout=config.model.head_dropout,
    )
    steps_per_epoch, train_ds = epoch_steps(
        config, make_dataset(config, setup, setup.train, training=True), len(setup.train)
    )
    compile_for_finetuning(model, config, steps_per_epoch * config.training.epochs)

    start_run(run, config_dict, setup, overwrite, resuming)
    history, seconds = fit_in_run(model, train_ds, config, run, steps_per_epoch, callbacks, verbose)
    metrics = evaluate(model, config, setup, make_dataset(config, setup, setup.eval, False))
    run.save_model(model)
    summary = run_summary(config, setup, model, metrics, history, steps_per_epoch, seconds)
    run.finish(summary)
    return summary
