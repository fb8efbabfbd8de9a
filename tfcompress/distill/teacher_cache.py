"""Teacher outputs computed once, stored on disk, and streamed next to the training data."""

import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
import tensorflow as tf

from tfcompress.distill.distiller import teacher_targets
from tfcompress.models.encoder import INPUT_NAMES

_META = "meta.json"
# Per-token states are [N, S, layers, H]: float16 halves the largest field on disk and in
# memory (its loss compares L2-normalized states, which float16 resolves to ~1e-3).
_HALF_PRECISION = ("word_hidden",)


def _flatten(targets):
    """{"logits": {"intent_logits": x}, "cls_hidden": y} → {"logits.intent_logits": x, ...}."""
    flat = {}
    for key, value in targets.items():
        if isinstance(value, dict):
            flat.update({f"{key}.{sub}": v for sub, v in value.items()})
        else:
            flat[key] = value
    return flat


def _unflatten(flat):
    nested = {}
    for key, value in flat.items():
        head, _, sub = key.partition(".")
        if sub:
            nested.setdefault(head, {})[sub] = value
        else:
            nested[head] = value
    return nested


def fingerprint(*parts):
    """A short hash of everything the cached outputs depend on (data, tokenizer, teacher)."""
    digest = hashlib.sha256()
    for part in parts:
        digest.update(json.dumps(part, sort_keys=True, default=str).encode())
    return digest.hexdigest()[:16]


class TeacherCache:
    """Per-example teacher logits and [CLS] states as .npy files in one directory.

    Built in one pass over the *unshuffled* training batches, written to a temp
    directory and renamed into place, so a killed build leaves no partial cache.
    `meta.json` records a fingerprint of what the outputs depend on; a stale
    cache is rebuilt rather than silently reused.
    """

    def __init__(self, directory):
        self.directory = Path(directory)
        self._arrays = None

    def matches(self, key):
        meta = self.directory / _META
        return meta.is_file() and json.loads(meta.read_text()).get("fingerprint") == key

    @property
    def num_examples(self):
        return json.loads((self.directory / _META).read_text())["num_examples"]

    def build(self, teacher, batches, key, transform=None, word_layers=()):
        """Runs `teacher` over `batches` of (inputs, labels) and stores its targets
        (with the states of `word_layers`, see `teacher_targets`), passed through
        `transform` ({field: array} → {field: array}) when given."""
        chunks = {}
        compute = tf.function(
            lambda x: _flatten(teacher_targets(teacher, x, word_layers=word_layers)),
            reduce_retracing=True,
        )
        for inputs, _ in batches:
            targets = compute({name: inputs[name] for name in INPUT_NAMES})
            for name, value in targets.items():
                dtype = np.float16 if name in _HALF_PRECISION else np.float32
                chunks.setdefault(name, []).append(np.asarray(value, dtype=dtype))
        # Popped, so the chunks are freed before `transform` makes its aligned copies (word
        # states of a large set are GBs: chunks, array and copy at once would be three).
        arrays = {name: np.concatenate(chunks.pop(name)) for name in list(chunks)}
        if transform is not None:
            arrays = transform(arrays)
        self.directory.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(dir=self.directory.parent, prefix=".cache-"))
        try:
            for name, array in arrays.items():
                np.save(staging / f"{name}.npy", array)
            count = len(next(iter(arrays.values())))
            (staging / _META).write_text(
                json.dumps({"fingerprint": key, "num_examples": count, "fields": sorted(arrays)})
            )
            # Move a stale cache aside in one rename: deleting it in place could be killed
            # halfway, leaving its meta.json beside missing arrays.
            stale = staging.with_name(staging.name.replace(".cache-", ".stale-"))
            if self.directory.exists():
                os.replace(self.directory, stale)
            os.replace(staging, self.directory)
            self._arrays = None
            shutil.rmtree(stale, ignore_errors=True)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        return self

    def arrays(self):
        """{field: memory-mapped array}, as stored (word states in float16).

        Mapped once per cache and shared by every epoch's stream: each epoch's
        `numpy_function` keeps its arrays alive, so a fresh map per epoch stayed mapped
        for the whole run (7 maps of a 3.7 GB cache in epoch 6, RSS reading 23 GB)."""
        if self._arrays is None:
            fields = json.loads((self.directory / _META).read_text())["fields"]
            self._arrays = {
                f: np.load(self.directory / f"{f}.npy", mmap_mode="r") for f in fields
            }
        return self._arrays


def word_start_positions(label_batches):
    """[N, S] bool: where token labels mark a word's first piece (label != -1)."""
    return np.concatenate([np.asarray(labels) != -1 for labels in label_batches])


def align_words(logits, source_starts, target_starts):
    """Per-token values [N, S_src, ...] (logits, hidden states) moved word by word onto
    another tokenization.

    Word k's values sit at the k-th word start of `source_starts` [N, S_src] and go to
    the k-th word start of `target_starts` [N, S_tgt]. Returns (aligned [N, S_tgt, ...],
    mask [N, S_tgt] float): 1 where a word start received the source's values, 0 elsewhere
    (other pieces, padding, and words the source's sequence length cut off).
    """
    aligned = np.zeros((len(logits), target_starts.shape[1], *logits.shape[2:]), logits.dtype)
    mask = np.zeros(target_starts.shape, np.float32)
    for row, (source, target) in enumerate(zip(source_starts, target_starts, strict=True)):
        src, tgt = np.flatnonzero(source), np.flatnonzero(target)
        words = min(len(src), len(tgt))
        aligned[row, tgt[:words]] = logits[row, src[:words]]
        mask[row, tgt[:words]] = 1.0
    return aligned, mask


def example_arrays(examples):
    """(inputs, labels) of an unbatched dataset, stacked into numpy arrays in its order."""
    parts = [tf.nest.map_structure(np.asarray, batch) for batch in examples.batch(4096)]
    return tf.nest.map_structure(lambda *rows: np.concatenate(rows), *parts)


def with_cached_targets(examples, cache, batch_size, shuffle, seed):
    """Batches of ({**inputs, "teacher": targets}, labels), targets as float32.

    `examples` are (inputs, labels) arrays in the cache's order (`example_arrays`). Only
    row indices pass through the shuffle buffer, and each batch reads its rows from the
    memory-mapped cache: memory stays at a few batches however large the cache. (A buffer
    of whole examples held every float32 word state of the epoch, 5.8 GB for 39k SNIPS
    utterances with two layers, and full runs grew past 12 GB.)
    """
    arrays = cache.arrays()
    fields = sorted(arrays)
    count = len(tf.nest.flatten(examples)[0])
    if count != cache.num_examples:
        raise ValueError(
            f"teacher cache {cache.directory} holds {cache.num_examples} examples, "
            f"the training data {count}"
        )
    examples = tf.nest.map_structure(tf.constant, examples)

    def read_rows(indices):
        return [np.asarray(arrays[field][indices], np.float32) for field in fields]

    def batch_of(indices):
        rows = tf.numpy_function(read_rows, [indices], [tf.float32] * len(fields), stateful=False)
        for field, row in zip(fields, rows, strict=True):
            row.set_shape((None, *arrays[field].shape[1:]))
        inputs, labels = tf.nest.map_structure(lambda a: tf.gather(a, indices), examples)
        return {**inputs, "teacher": _unflatten(dict(zip(fields, rows, strict=True)))}, labels

    order = tf.data.Dataset.range(count)
    if shuffle:
        order = order.shuffle(count, seed=seed, reshuffle_each_iteration=True)
    return order.batch(batch_size).map(batch_of).prefetch(tf.data.AUTOTUNE)
