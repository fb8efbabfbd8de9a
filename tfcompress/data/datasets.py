"""tf.data pipelines that tokenize in-graph and yield (inputs, labels) batches for Keras."""

from collections.abc import Sequence

import numpy as np
import tensorflow as tf

from tfcompress.data.task_data import UNLABELED_TAG, IntentSlotData, TextClassificationData
from tfcompress.data.wordpiece_tokenizer import WordPieceTokenizer
from tfcompress.errors import DataError

# The token label of an unlabelled word's first piece: a word start (not IGNORE_LABEL),
# skipped by ground truth (negative).
UNLABELED_WORD = -2


def epoch_seed(seed: int, epoch: int) -> int:
    """The shuffling seed of one training epoch: a pure function of (seed, epoch), so a
    resumed run sees the same order in its remaining epochs as an uninterrupted one."""
    return int(np.random.SeedSequence([seed, epoch]).generate_state(1)[0])


def classification_dataset(
    data: TextClassificationData,
    tokenizer: WordPieceTokenizer,
    batch_size: int,
    shuffle: bool = False,
    seed: int = 0,
) -> tf.data.Dataset:
    """Batches of (inputs dict, int32 labels [B]); the last batch may be smaller."""
    columns = [tf.constant(data.texts_a, tf.string)]
    if data.texts_b is not None:
        columns.append(tf.constant(data.texts_b, tf.string))
    labels = tf.constant(data.labels, tf.int32)
    dataset = tf.data.Dataset.from_tensor_slices((tuple(columns), labels))
    dataset = _maybe_shuffle(dataset, len(data), shuffle, seed).batch(
        batch_size, drop_remainder=False
    )
    # Tokenizing whole batches is far cheaper than per example.
    dataset = dataset.map(
        lambda texts, y: (tokenizer(*texts), y), num_parallel_calls=tf.data.AUTOTUNE
    )
    return dataset.prefetch(tf.data.AUTOTUNE)


def intent_slot_dataset(
    data: IntentSlotData,
    tokenizer: WordPieceTokenizer,
    intent_names: Sequence[str],
    tag_names: Sequence[str],
    batch_size: int,
    shuffle: bool = False,
    seed: int = 0,
    unseen_labels: str = "error",
) -> tf.data.Dataset:
    """Batches of (inputs, {"intent_logits": int32 [B], "slot_logits": int32 [B, S]}).

    Slot labels sit on each word's first wordpiece, -1 elsewhere (see encode_tagged); a
    word tagged UNLABELED_TAG has UNLABELED_WORD (-2) there, a word start no tag trains.
    `unseen_labels="count_as_wrong"` labels an intent outside `intent_names` -1 (never
    predicted) and a tag outside `tag_names` "O" (scoring reads the gold tags as text).
    """
    keep = unseen_labels == "count_as_wrong"
    intent_index = _index(intent_names, data.intents, "intent", -1 if keep else None)
    intents = [intent_index.get(i, -1) for i in data.intents]
    extra = tf.constant(intents, tf.int32)
    dataset = _tagged_examples(data, tag_names, shuffle, seed, extra=extra, keep_unseen=keep)

    def encode(words, tags, intent):
        inputs, slots = tokenizer.encode_tagged(words, tags)
        return inputs, {"intent_logits": intent, "slot_logits": slots}

    return _batch_and_encode(dataset, batch_size, encode)


def tagging_dataset(
    data: IntentSlotData,
    tokenizer: WordPieceTokenizer,
    tag_names: Sequence[str],
    batch_size: int,
    shuffle: bool = False,
    seed: int = 0,
    unseen_labels: str = "error",
) -> tf.data.Dataset:
    """Batches of (inputs, int32 token labels [B, S]) for token tagging; intents are ignored."""
    keep = unseen_labels == "count_as_wrong"
    dataset = _tagged_examples(data, tag_names, shuffle, seed, keep_unseen=keep)
    return _batch_and_encode(dataset, batch_size, tokenizer.encode_tagged)


def _tagged_examples(
    data: IntentSlotData, tag_names, shuffle: bool, seed: int, extra=None, keep_unseen=False
) -> tf.data.Dataset:
    if len(data) == 0:
        raise DataError("no intent/slot examples to build a dataset from; check the data directory")
    outside = list(tag_names).index("O") if keep_unseen else None
    tags = [t for row in data.tags for t in row]
    tag_index = _index(tag_names, set(tags) - {UNLABELED_TAG}, "slot tag", outside)
    tag_index[UNLABELED_TAG] = UNLABELED_WORD
    lengths = [len(row) for row in data.words]
    flat_tags = [tag_index.get(t, outside) for t in tags]
    columns = (
        tf.RaggedTensor.from_row_lengths(
            tf.constant([w for row in data.words for w in row], tf.string), lengths
        ),
        tf.RaggedTensor.from_row_lengths(tf.constant(flat_tags, tf.int32), lengths),
    )
    if extra is not None:
        columns += (extra,)
    dataset = tf.data.Dataset.from_tensor_slices(columns)
    return _maybe_shuffle(dataset, len(data), shuffle, seed)


def _batch_and_encode(dataset: tf.data.Dataset, batch_size: int, encode) -> tf.data.Dataset:
    # ragged_batch keeps variable-length word lists as RaggedTensors for encode_tagged.
    dataset = dataset.ragged_batch(batch_size, drop_remainder=False)
    return dataset.map(encode, num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)


def _maybe_shuffle(
    dataset: tf.data.Dataset, size: int, shuffle: bool, seed: int
) -> tf.data.Dataset:
    if not shuffle:
        return dataset
    # A full-size buffer gives a uniform shuffle; the data is already in memory anyway.
    return dataset.shuffle(max(size, 1), seed=seed, reshuffle_each_iteration=True)


def _index(names: Sequence[str], values, kind: str, unseen_id=None) -> dict[str, int]:
    """name -> id, after checking every value has a name (e.g. a test-only intent) unless
    values without one get `unseen_id`."""
    index = {name: i for i, name in enumerate(names)}
    unknown = sorted(set(values) - index.keys())
    if unknown and unseen_id is None:
        raise DataError(
            f"unknown {kind}(s) {unknown[:10]}{' ...' if len(unknown) > 10 else ''} not among the "
            f"{len(index)} known {kind} names; build the names from the training split (plus any "
            f"others you evaluate on) or drop those examples"
        )
    return index
