"""One task's data, tokenizer, labels, datasets, model head, losses and evaluation."""

import dataclasses

import keras
import numpy as np

from tfcompress.data import (
    GLUE_TASKS,
    BioTagDecoder,
    WordPieceTokenizer,
    classification_dataset,
    classification_metrics,
    epoch_seed,
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
from tfcompress.data.task_data import concatenate
from tfcompress.data.tfds_source import read_tfds_splits
from tfcompress.errors import CheckpointError
from tfcompress.models import build_classifier, build_intent_slot_model, build_tagger
from tfcompress.models.hf_checkpoint import checkpoint_lower_case, read_hf_config
from tfcompress.models.keras_hub_bert import (
    is_keras_hub_preset,
    keras_hub_preset_vocabulary,
    read_keras_hub_config,
)
from tfcompress.tasks.pretrained_run import PretrainedRun, is_pretrain_run
from tfcompress.tasks.unseen_labels import check_unseen_labels


@dataclasses.dataclass
class TaskRuntime:
    """Everything a trainer, an exporter or an evaluator needs to know about one task.

    Read and validated before a run writes anything; finetune, distill and export
    build their datasets, task models and metrics through it (Model Garden's `Task`).

    Args:
        task: "classification", "tagging" or "intent_slot".
        data_config: the recipe's `DataConfig` (format, paths, subsets).
        train: the training examples as read (`TextClassificationData` or `IntentSlotData`).
        eval: the evaluation examples.
        labels: label names: {"labels": [...]} or {"intents": [...], "tags": [...]}.
        tokenizer: the `WordPieceTokenizer` (its `sequence_length` fixes the model's).
        seed: shuffling seed.
        batch_size: training batch size.
        eval_batch_size: batch size for evaluation and inference.
        unseen: set on construction, not passed: the `UnseenLabels` of the eval examples
            scored as never right (None if there are none). Building a runtime checks
            every label against `labels`: unseen ones in train are an error, in eval
            what `data_config.unseen_labels` says.

    Example:

    ```python
    runtime = TaskRuntime.from_recipe(load_finetune_config("configs/demo_tiny.yaml"))
    model = runtime.build_model(Encoder(config), dropout=0.1)
    metrics = runtime.evaluate(model)  # intent accuracy, slot F1, sentence accuracy
    ```
    """

    task: str
    data_config: object
    train: object
    eval: object
    labels: dict
    tokenizer: WordPieceTokenizer
    seed: int = 0
    batch_size: int = 32
    eval_batch_size: int = 64
    unseen: object = dataclasses.field(init=False, default=None)

    def __post_init__(self):
        labels = {"tags": self.labels["tags"]} if self.task == "tagging" else self.labels
        self.unseen = check_unseen_labels(self.train, self.eval, labels, self.data_config)

    @classmethod
    def from_recipe(cls, config, tokenizer=None, labels=None):
        """From a finetune or distill recipe; `tokenizer` and `labels` default to the
        recipe's own (a teacher run passes its vocabulary and label names instead)."""
        train, evaluation = read_task_data(config.data, config.seed)
        return cls(
            task=config.task,
            data_config=config.data,
            train=train,
            eval=evaluation,
            labels=_label_names(config.task, config.data, train) if labels is None else labels,
            tokenizer=_tokenizer(config.model, train) if tokenizer is None else tokenizer,
            seed=config.seed,
            batch_size=config.training.batch_size,
            eval_batch_size=config.training.eval_batch_size,
        )

    @property
    def sentence_pairs(self) -> bool:
        """Whether an example is two texts (MRPC) rather than one."""
        return getattr(self.train, "texts_b", None) is not None

    def with_eval(self, evaluation):
        """The same task evaluated on other examples (a verification subset, say)."""
        return dataclasses.replace(self, eval=evaluation)

    def dataset(self, data, training=False, epoch=0):
        """(inputs, labels) batches of `data`; if `training`, in training batches and
        shuffled in an order fixed by the seed and `epoch`."""
        batch = self.batch_size if training else self.eval_batch_size
        options = {"shuffle": training, "seed": epoch_seed(self.seed, epoch)}
        if self.task == "classification":
            return classification_dataset(data, self.tokenizer, batch, **options)
        options["unseen_labels"] = self.data_config.unseen_labels
        if self.task == "tagging":
            return tagging_dataset(data, self.tokenizer, self.labels["tags"], batch, **options)
        return intent_slot_dataset(
            data, self.tokenizer, self.labels["intents"], self.labels["tags"], batch, **options
        )

    def train_dataset(self, epoch=0):
        return self.dataset(self.train, training=True, epoch=epoch)

    def eval_dataset(self):
        return self.dataset(self.eval, training=False)

    def inputs(self, data):
        """Batches of model inputs only (calibration and verification sets for export)."""
        return [inputs for inputs, _ in self.dataset(data, training=False)]

    def build_model(self, encoder, dropout=0.1):
        """The task model (a `TaskModel`) with this task's head on `encoder`."""
        if self.task == "classification":
            return build_classifier(encoder, len(self.labels["labels"]), dropout=dropout)
        if self.task == "tagging":
            return build_tagger(encoder, len(self.labels["tags"]), dropout=dropout)
        return build_intent_slot_model(
            encoder, len(self.labels["intents"]), len(self.labels["tags"]), dropout=dropout
        )

    def losses_and_metrics(self):
        """(loss, metrics) for `model.compile`; padded and continuation tokens are -1."""
        if self.task == "classification":
            return _cross_entropy(), ["accuracy"]
        if self.task == "tagging":
            return _cross_entropy(ignore_class=-1), None
        losses = {
            "intent_logits": _cross_entropy(),
            "slot_logits": _cross_entropy(ignore_class=-1),
        }
        return losses, {"intent_logits": ["accuracy"]}

    def predictions(self, model, dataset=None):
        """(outputs, labels): `model`'s outputs on `dataset` (the eval split's by default)
        and the dataset's labels, each concatenated over batches as numpy arrays."""
        return _predictions_and_labels(model, dataset or self.eval_dataset())

    def evaluate(self, model, dataset=None):
        """Task metrics on the eval split, computed on words / examples, not tokens.

        `model` is anything callable on a batch of inputs (a Keras model or a TFLite runner).
        """
        outputs, labels = self.predictions(model, dataset)
        data = self.eval
        if self.task == "classification":
            names = classification_metric_names(self.data_config)
            return classification_metrics(names, labels, outputs.argmax(-1))
        if self.task == "tagging":
            return self._slot_scores(outputs, labels)
        slot_logits, slot_labels = outputs["slot_logits"], labels["slot_logits"]
        tags = self._word_tags(slot_logits, slot_labels)
        intents_right = outputs["intent_logits"].argmax(-1) == labels["intent_logits"]
        slots_right = np.array([p == t for p, t in zip(tags, data.tags, strict=True)])
        return {
            "intent_accuracy": float(intents_right.mean()),
            **self._slot_scores(slot_logits, slot_labels, tags),
            "sentence_accuracy": float((intents_right & slots_right).mean()),
        }

    def _slot_scores(self, slot_logits, slot_labels, tags=None):
        """Slot F1 of the argmax tags (`tags`, if already decoded), and of the tags
        `BioTagDecoder` decodes."""
        gold = self.eval.tags
        if tags is None:
            tags = self._word_tags(slot_logits, slot_labels)
        return {
            "slot_f1": slot_f1(gold, tags),
            "slot_f1_constrained": slot_f1(
                gold, self._word_tags(slot_logits, slot_labels, constrained=True)
            ),
        }

    def predicted_word_tags(self, model, dataset=None, constrained=False):
        """The tag `model` gives each word of the eval split (a token task's), as
        `evaluate` scores them: one list of tag names per utterance. `constrained`: decoded
        by `BioTagDecoder` (`evaluate`'s "slot_f1_constrained") instead of argmax."""
        if self.task == "classification":
            raise ValueError("a classification task has no word tags")
        outputs, labels = self.predictions(model, dataset)
        if self.task == "intent_slot":
            outputs, labels = outputs["slot_logits"], labels["slot_logits"]
        return self._word_tags(outputs, labels, constrained)

    def _word_tags(self, slot_logits, slot_labels, constrained=False):
        names = self.labels["tags"]
        if constrained:
            decode = BioTagDecoder(names).decode
            predicted = [decode(w) for w in word_level_predictions(slot_logits, slot_labels)]
        else:
            predicted = word_level_predictions(slot_logits.argmax(-1), slot_labels)
        # Words cut off by sequence_length get no prediction: score them as "O".
        return [
            [names[i] for i in row] + ["O"] * (len(words) - len(row))
            for row, words in zip(predicted, self.eval.words, strict=True)
        ]


def read_task_data(data, seed):
    """(train, eval) examples as the `DataConfig` says, subsets applied."""
    if data.format == "glue":
        # Rows with a label outside the task's set are kept (label -1) for the unseen-labels
        # check to report all at once, unless skip_malformed drops them.
        skip = data.skip_malformed
        train = read_glue_tsv(data.train, data.glue_task, skip, keep_unknown_labels=not skip)
        keep = data.unseen_labels == "count_as_wrong" or not skip
        evaluation = read_glue_tsv(data.eval, data.glue_task, skip, keep_unknown_labels=keep)
    elif data.format == "tfds":
        train, evaluation = read_tfds_splits(data.tfds)
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
    augmentations = [a for a in (data.slot_swap, data.phrase_fill) if a is not None]
    if augmentations:
        train = concatenate(train, *(a.copies_of(train, seed) for a in augmentations))
    return train, evaluation


def _cross_entropy(ignore_class=None):
    return keras.losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=ignore_class)


def _training_texts(train):
    if hasattr(train, "texts_a"):
        return train.texts_a + (train.texts_b or [])
    return [" ".join(words) for words in train.words]


def hf_checkpoint_tokenizer(checkpoint, sequence_length, lower_case=True):
    """The tokenizer of a Hugging Face checkpoint folder, checked against its config.json."""
    config = read_hf_config(checkpoint, sequence_length)
    path = f"{checkpoint}/vocab.txt"
    size = len(read_vocabulary(path))
    if size != config.vocab_size:
        raise CheckpointError(
            f"{path} has {size} tokens but config.json says vocab_size "
            f"{config.vocab_size}; use the vocab.txt that came with the checkpoint"
        )
    return WordPieceTokenizer.from_vocab_file(
        path, sequence_length, checkpoint_lower_case(checkpoint, lower_case)
    )


def keras_hub_preset_tokenizer(preset, sequence_length):
    """The tokenizer of a keras-hub BertBackbone preset (its BertTokenizer's vocabulary and
    lower-casing), checked against the backbone's word table."""
    config = read_keras_hub_config(preset, sequence_length)
    path, lower_case = keras_hub_preset_vocabulary(preset)
    size = len(read_vocabulary(path))
    if size != config.vocab_size:
        raise CheckpointError(
            f"{path} has {size} tokens but the backbone's vocabulary_size is "
            f"{config.vocab_size}; save the tokenizer that came with the backbone"
        )
    return WordPieceTokenizer.from_vocab_file(path, sequence_length, lower_case)


def _tokenizer(model_config, train):
    """From the checkpoint's vocab.txt (a Hugging Face folder or a pretrain run), a given
    vocab.txt, or a vocabulary learned from `train`."""
    options = {
        "sequence_length": model_config.sequence_length,
        "lower_case": model_config.lower_case,
    }
    if model_config.checkpoint and is_pretrain_run(model_config.checkpoint):
        run = PretrainedRun.read(model_config.checkpoint, role="model.checkpoint")
        return run.tokenizer(model_config.sequence_length)
    if model_config.checkpoint and is_keras_hub_preset(model_config.checkpoint):
        return keras_hub_preset_tokenizer(model_config.checkpoint, model_config.sequence_length)
    if model_config.checkpoint:
        return hf_checkpoint_tokenizer(
            model_config.checkpoint, model_config.sequence_length, model_config.lower_case
        )
    if model_config.vocab:
        return WordPieceTokenizer.from_vocab_file(model_config.vocab, **options)
    vocab = learn_wordpiece_vocabulary(
        _training_texts(train), model_config.learn_vocab_size, lower_case=model_config.lower_case
    )
    return WordPieceTokenizer(vocab, **options)


def classification_metric_names(data):
    return data.tfds.metrics if data.format == "tfds" else GLUE_TASKS[data.glue_task].metric_names


def _label_names(task, data, train):
    if task == "classification" and data.format == "tfds":
        return {"labels": list(train.label_names)}
    if task == "classification":
        return {"labels": list(GLUE_TASKS[data.glue_task].label_names)}
    if data.format == "synthetic":
        return synthetic_label_names()
    return {"intents": train.intent_names(), "tags": train.tag_names()}


def _predictions_and_labels(model, dataset):
    outputs, labels = [], []
    for inputs, y in dataset:
        outputs.append(keras.tree.map_structure(np.asarray, model(inputs, training=False)))
        labels.append(keras.tree.map_structure(np.asarray, y))
    return (
        keras.tree.map_structure(lambda *xs: np.concatenate(xs), *outputs),
        keras.tree.map_structure(lambda *xs: np.concatenate(xs), *labels),
    )
