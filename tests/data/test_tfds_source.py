"""`data.format: tfds`: tiny datasets prepared here with TFDS's own builder (nothing is
downloaded), read as task data, and a finetune run on one."""

import numpy as np
import pytest

from tests.training.helpers import SENTIMENT_ROWS, tiny_config
from tfcompress.data.tfds_source import UNLABELLED, TfdsSource, read_tfds_splits
from tfcompress.errors import ConfigError, DataError

PAIRS = [("the cat sat", "a cat was sitting", 1), ("it rained", "stocks fell", 0)] * 4
UTTERANCES = [
    (["play", "jazz", "music"], ["O", "B-genre", "O"], "PlayMusic"),
    (["rain", "in", "paris"], ["O", "O", "B-city"], "GetWeather"),
] * 4


def _prepare(data_dir, name, features, splits):
    import tensorflow as tf
    import tensorflow_datasets as tfds

    tfds.dataset_builders.store_as_tfds_dataset(
        name=name,
        version="1.0.0",
        features=tfds.features.FeaturesDict(features),
        split_datasets={
            split: tf.data.Dataset.from_tensor_slices(columns) for split, columns in splits.items()
        },
        data_dir=str(data_dir),
        disable_shuffling=True,  # keep the source order, so tests can compare row by row
    )


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    import tensorflow_datasets as tfds

    root = tmp_path_factory.mktemp("tfds")
    label = tfds.features.ClassLabel(names=["negative", "positive"])
    sentences = {
        "sentence": [text for text, _ in SENTIMENT_ROWS],
        "label": [y for _, y in SENTIMENT_ROWS],
    }
    test = {"sentence": ["unlabelled one"], "label": [-1]}
    features = {"sentence": tfds.features.Text(), "label": label}
    _prepare(
        root, "tiny_sst", features, {"train": sentences, "validation": sentences, "test": test}
    )
    pairs = {
        "sentence1": [a for a, _, _ in PAIRS],
        "sentence2": [b for _, b, _ in PAIRS],
        "label": [y for _, _, y in PAIRS],
    }
    features = {
        "sentence1": tfds.features.Text(),
        "sentence2": tfds.features.Text(),
        "label": tfds.features.ClassLabel(names=["not_equivalent", "equivalent"]),
    }
    _prepare(root, "tiny_pairs", features, {"train": pairs, "validation": pairs})
    tag_names = ["O", "B-genre", "B-city"]
    utterances = {
        "tokens": tf_ragged([words for words, _, _ in UTTERANCES]),
        "slots": tf_ragged([[tag_names.index(t) for t in tags] for _, tags, _ in UTTERANCES]),
        "intent": [intent for _, _, intent in UTTERANCES],
    }
    features = {
        "tokens": tfds.features.Sequence(tfds.features.Text()),
        "slots": tfds.features.Sequence(tfds.features.ClassLabel(names=tag_names)),
        "intent": tfds.features.Text(),
    }
    _prepare(root, "tiny_snips", features, {"train": utterances, "validation": utterances})
    return root


def tf_ragged(rows):
    import tensorflow as tf

    return tf.ragged.constant(rows)


def test_sentences_with_class_label_names(data_dir):
    source = TfdsSource(name="tiny_sst", data_dir=str(data_dir), text="sentence")
    train, evaluation = read_tfds_splits(source)
    assert train.texts_a == [text for text, _ in SENTIMENT_ROWS]
    assert train.texts_b is None
    assert train.labels.tolist() == [y for _, y in SENTIMENT_ROWS]
    assert train.label_names == ["negative", "positive"]
    assert len(evaluation) == len(SENTIMENT_ROWS)
    # TFDS's -1 (a GLUE test split) is an unknown label, for the unseen-labels policy.
    source = TfdsSource(name="tiny_sst", data_dir=str(data_dir), text="sentence", eval_split="test")
    _, test = read_tfds_splits(source)
    assert test.labels.tolist() == [-1] and test.unknown_labels == {0: UNLABELLED}
    # TFDS split slicing works.
    source = TfdsSource(
        name="tiny_sst", data_dir=str(data_dir), text="sentence", train_split="train[:3]"
    )
    assert len(read_tfds_splits(source)[0]) == 3


def test_sentence_pairs(data_dir):
    source = TfdsSource(
        name="tiny_pairs", data_dir=str(data_dir), text="sentence1", text_pair="sentence2"
    )
    train, _ = read_tfds_splits(source)
    assert list(zip(train.texts_a, train.texts_b, train.labels.tolist())) == PAIRS
    assert train.label_names == ["not_equivalent", "equivalent"]


def test_intent_slot_sequences(data_dir):
    source = TfdsSource(
        name="tiny_snips", data_dir=str(data_dir), words="tokens", tags="slots", intent="intent"
    )
    train, _ = read_tfds_splits(source)
    assert train.words == [words for words, _, _ in UTTERANCES]
    assert train.tags == [tags for _, tags, _ in UTTERANCES]
    assert train.intents == [intent for _, _, intent in UTTERANCES]


@pytest.mark.parametrize(
    "changes, error, needle",
    [
        ({"name": "no_such_dataset"}, DataError, "no such dataset"),
        ({"name": "glue/sst2"}, DataError, "tfds build glue/sst2"),
        ({"text": "sentance"}, DataError, "has no feature 'sentance'; it has"),
        ({"eval_split": "dev"}, DataError, "split 'dev'"),
        ({"text": None}, ConfigError, "name the text feature"),
        ({"metrics": ["auc"]}, ConfigError, "not among accuracy"),
    ],
)
def test_clear_errors(data_dir, changes, error, needle):
    values = {"name": "tiny_sst", "data_dir": str(data_dir), "text": "sentence", **changes}
    with pytest.raises(error, match=needle):
        read_tfds_splits(TfdsSource(**values))


def test_finetune_reads_a_tfds_dataset(data_dir, tmp_path):
    from tfcompress.tasks import FinishedRun
    from tfcompress.training import run_finetune

    tfds_values = {
        "name": "tiny_pairs",
        "data_dir": str(data_dir),
        "text": "sentence1",
        "text_pair": "sentence2",
        "metrics": ["accuracy", "f1"],
    }
    config = tiny_config(
        tmp_path / "run",
        task="classification",
        data={"format": "tfds", "tfds": tfds_values},
    )
    summary = run_finetune(config)
    assert set(summary["eval"]) == {"accuracy", "f1"}
    assert summary["eval_examples"] == len(PAIRS)
    run = FinishedRun.read(tmp_path / "run")
    assert run.labels == {"labels": ["not_equivalent", "equivalent"]}
    runtime = run.task_runtime()
    assert runtime.sentence_pairs
    assert runtime.evaluate(run.load_model()) == pytest.approx(summary["eval"])
    assert np.isfinite(list(summary["eval"].values())).all()


def test_recipe_errors_name_the_key():
    from tfcompress.tasks.data_config import DataConfig

    with pytest.raises(ConfigError, match="tfds: required"):
        DataConfig(format="tfds")
    with pytest.raises(ConfigError, match="reads tfds.train_split"):
        DataConfig(format="tfds", train="x.tsv", tfds=TfdsSource(name="n", text="t"))


def test_readme_tfds_section_is_a_valid_data_section():
    import re

    import yaml

    from tests.test_readme import README
    from tfcompress.config_loading import dataclass_from_dict
    from tfcompress.tasks.data_config import DataConfig

    block = next(
        b for b in re.findall(r"```yaml\n(.*?)```", README.read_text(), re.S) if "tfds" in b
    )
    data = dataclass_from_dict(DataConfig, yaml.safe_load(block)["data"], "data")
    assert data.tfds.name == "glue/mrpc" and data.tfds.is_pair
    assert data.tfds.metrics == ["accuracy", "f1"]
