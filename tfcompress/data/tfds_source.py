"""Task examples from a TensorFlow Datasets (TFDS) dataset: `data.format: tfds`."""

import dataclasses
from pathlib import Path

import numpy as np

from tfcompress.data.metrics import CLASSIFICATION_METRIC_NAMES
from tfcompress.data.task_data import IntentSlotData, TextClassificationData
from tfcompress.errors import ConfigError, DataError

UNLABELLED = "<no label>"  # TFDS marks unlabelled examples (GLUE test splits) with -1


@dataclasses.dataclass
class TfdsSource:
    """Which TFDS dataset, splits and features hold a task's examples.

    Args:
        name: the TFDS name, with its config if any (`"glue/sst2"`, `"glue/mrpc"`), or the
            name of a dataset prepared in `data_dir` without a registered builder.
        data_dir: where TFDS keeps prepared datasets (TFDS's default, ~/tensorflow_datasets,
            when None).
        download: let TFDS download and prepare the dataset when `data_dir` lacks it.
            Off by default: a run reads what is there and says how to prepare it.
        train_split: the split trained on (TFDS split syntax: `"train[:2000]"` works).
        eval_split: the split evaluated on.
        text: classification: the text feature (`"sentence"`, `"sentence1"`).
        text_pair: classification of pairs: the second text feature (`"sentence2"`).
        label: classification: the label feature (a `ClassLabel`: its names become the
            model's labels).
        metrics: classification metrics among accuracy, f1 and mcc.
        words: intent + slot: the feature holding each utterance's words (a sequence).
        tags: intent + slot: one slot tag per word (a sequence of `ClassLabel` or text).
        intent: intent + slot: the utterance's intent (a `ClassLabel` or text).
    """

    name: str
    data_dir: str | None = None
    download: bool = False
    train_split: str = "train"
    eval_split: str = "validation"
    text: str | None = None
    text_pair: str | None = None
    label: str = "label"
    metrics: list[str] = dataclasses.field(default_factory=lambda: ["accuracy"])
    words: str | None = None
    tags: str | None = None
    intent: str | None = None

    def __post_init__(self):
        if bool(self.text) == bool(self.words):
            raise ConfigError(
                "data.tfds: name the text feature (`text`, for classification) or the word "
                "sequence feature (`words`, with `tags` and `intent`, for intent + slot)"
            )
        if self.words and not (self.tags and self.intent):
            raise ConfigError("data.tfds: `words` needs `tags` and `intent` features too")
        unknown = [m for m in self.metrics if m not in CLASSIFICATION_METRIC_NAMES]
        if unknown or not self.metrics:
            raise ConfigError(
                f"data.tfds.metrics: {unknown or self.metrics} not among "
                f"{', '.join(CLASSIFICATION_METRIC_NAMES)}"
            )

    @property
    def task_kind(self) -> str:
        return "classification" if self.text else "intent_slot"

    @property
    def is_pair(self) -> bool:
        return bool(self.text_pair)


def _builder(source):
    import tensorflow_datasets as tfds

    data_dir = str(Path(source.data_dir).expanduser()) if source.data_dir else None
    try:
        builder = tfds.builder(source.name, data_dir=data_dir)
    except tfds.core.registered.DatasetNotFoundError:
        raise DataError(
            f"data.tfds.name {source.name!r}: TFDS has no such dataset and "
            f"{data_dir or 'its data_dir'} holds no prepared copy of it"
        ) from None
    if source.download:
        builder.download_and_prepare()
    elif not _is_prepared(builder):
        raise DataError(
            f"data.tfds.name {source.name!r} is not prepared in {builder.data_dir_root}; "
            f"prepare it (`tfds build {source.name} --data_dir {builder.data_dir_root}`) or "
            "set data.tfds.download: true"
        )
    return builder


def _is_prepared(builder) -> bool:
    return Path(builder.data_dir, "dataset_info.json").is_file()


def _examples(builder, split, source):
    import tensorflow_datasets as tfds

    splits = list(builder.info.splits)
    base = split.split("[")[0]
    if base not in splits:
        raise DataError(f"data.tfds: split {split!r} of {source.name!r} unknown; it has {splits}")
    return tfds.as_numpy(builder.as_dataset(split=split, shuffle_files=False))


def _feature(builder, name, source):
    features = builder.info.features
    if name not in features:
        raise DataError(
            f"data.tfds: {source.name!r} has no feature {name!r}; it has {', '.join(features)}"
        )
    return features[name]


def _decoder(feature):
    """Turns a feature's numpy values into strings: ClassLabel ids to names, bytes decoded."""
    names = getattr(feature, "names", None)
    if names:
        return lambda value: UNLABELLED if int(value) < 0 else names[int(value)]
    return lambda value: value.decode("utf-8") if isinstance(value, bytes) else str(value)


def _classification(builder, split, source):
    label_feature = _feature(builder, source.label, source)
    label_names = list(getattr(label_feature, "names", None) or [])
    if not label_names:
        raise DataError(
            f"data.tfds.label {source.label!r} of {source.name!r} is not a ClassLabel feature"
        )
    to_text = _decoder(_feature(builder, source.text, source))
    if source.is_pair:
        _feature(builder, source.text_pair, source)
    texts_a, texts_b, labels, unknown = [], [], [], {}
    for i, example in enumerate(_examples(builder, split, source)):
        texts_a.append(to_text(example[source.text]))
        if source.is_pair:
            texts_b.append(to_text(example[source.text_pair]))
        label = int(example[source.label])
        labels.append(label)
        if label < 0:
            unknown[i] = UNLABELLED
    return TextClassificationData(
        texts_a=texts_a,
        texts_b=texts_b if source.is_pair else None,
        labels=np.asarray(labels),
        label_names=label_names,
        unknown_labels=unknown,
    )


def _intent_slot(builder, split, source):
    word = _decoder(_feature(builder, source.words, source).feature)
    tag = _decoder(_feature(builder, source.tags, source).feature)
    intent = _decoder(_feature(builder, source.intent, source))
    words, tags, intents = [], [], []
    for example in _examples(builder, split, source):
        words.append([word(w) for w in example[source.words]])
        tags.append([tag(t) for t in example[source.tags]])
        intents.append(intent(example[source.intent]))
        if len(words[-1]) != len(tags[-1]):
            raise DataError(
                f"data.tfds: {source.name!r} {split} example {len(words) - 1} has "
                f"{len(words[-1])} words but {len(tags[-1])} tags"
            )
    return IntentSlotData(words=words, tags=tags, intents=intents)


def read_tfds_splits(source: TfdsSource):
    """(train, eval) task data from the TFDS dataset `source` names, read from its data_dir
    (downloaded only with `download: true`)."""
    builder = _builder(source)
    read = _classification if source.task_kind == "classification" else _intent_slot
    return read(builder, source.train_split, source), read(builder, source.eval_split, source)
