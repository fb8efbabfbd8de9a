"""Memory of streaming a teacher cache over several epochs (`with_cached_targets`), no model.

Builds a synthetic cache (word states float16 [N, 48, 2, 384], slot logits float32), streams
it shuffled for a few epochs as `fit_in_run` does (one concatenated stream), and prints the
process's anonymous memory after each epoch and its peak (sampled every batch).
`--example-buffer` streams it as the pipeline did until 2026-12-06: whole examples, float32
targets included, through a shuffle buffer as large as the data (full runs grew past 12 GB).

    python benchmarks/cache_stream_memory.py --examples 12000 --epochs 4
    python benchmarks/cache_stream_memory.py --examples 12000 --epochs 4 --example-buffer
"""

import argparse
import functools
import json
import os
import tempfile
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def anonymous_memory_mb():
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("RssAnon:"):
            return int(line.split()[1]) // 1024
    raise RuntimeError("no RssAnon in /proc/self/status (Linux only)")


def synthetic_cache(directory, n, rng):
    import numpy as np

    word_hidden = rng.random((n, 48, 2, 384), np.float32).astype(np.float16)
    np.save(directory / "word_hidden.npy", word_hidden)
    np.save(directory / "logits.slot_logits.npy", rng.random((n, 48, 40), np.float32))
    meta = {"fingerprint": "k", "num_examples": n, "fields": ["logits.slot_logits", "word_hidden"]}
    (directory / "meta.json").write_text(json.dumps(meta))


def example_buffer_stream(examples, cache, batch_size, seed):
    """The replaced `with_cached_targets`: the cache read in order in chunks, joined with the
    examples, and every example shuffled whole in a buffer the size of the data."""
    import numpy as np
    import tensorflow as tf

    from tfcompress.distill.teacher_cache import _unflatten

    arrays = cache.arrays()

    def chunks():
        for start in range(0, cache.num_examples, 1024):
            yield {f: np.asarray(a[start : start + 1024]) for f, a in arrays.items()}

    signature = {f: tf.TensorSpec((None, *a.shape[1:]), a.dtype) for f, a in arrays.items()}
    targets = tf.data.Dataset.from_generator(chunks, output_signature=signature).unbatch()
    targets = targets.map(lambda x: _unflatten({f: tf.cast(v, tf.float32) for f, v in x.items()}))
    joined = tf.data.Dataset.zip(tf.data.Dataset.from_tensor_slices(examples), targets).map(
        lambda example, t: ({**example[0], "teacher": t}, example[1])
    )
    joined = joined.apply(tf.data.experimental.assert_cardinality(cache.num_examples))
    joined = joined.shuffle(cache.num_examples, seed=seed, reshuffle_each_iteration=True)
    return joined.batch(batch_size).prefetch(tf.data.AUTOTUNE)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=12000)
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--example-buffer", action="store_true")
    args = parser.parse_args(argv)
    import numpy as np
    import tensorflow as tf

    from tfcompress.distill.teacher_cache import TeacherCache, with_cached_targets

    with tempfile.TemporaryDirectory() as tmp:
        cache_dir = Path(tmp)
        synthetic_cache(cache_dir, args.examples, np.random.default_rng(0))
        cache = TeacherCache(cache_dir)
        ids = np.zeros((args.examples, 48), np.int32)
        examples = ({"token_ids": ids}, ids)
        stream_of = functools.partial(
            example_buffer_stream if args.example_buffer else with_cached_targets,
            examples,
            cache,
            args.batch_size,
        )
        if not args.example_buffer:
            stream_of = functools.partial(stream_of, shuffle=True)
        stream = functools.reduce(
            lambda a, b: a.concatenate(b), [stream_of(seed=e) for e in range(args.epochs)]
        )
        batches = iter(stream)
        steps = -(-args.examples // args.batch_size)
        variant = "example buffer" if args.example_buffer else "with_cached_targets"
        print(f"{variant}, {args.examples} examples, batch {args.batch_size}")
        peak = 0
        for epoch in range(args.epochs):
            for _ in range(steps):
                next(batches)
                peak = max(peak, anonymous_memory_mb())
            print(f"epoch {epoch}: anonymous memory {anonymous_memory_mb()} MB, peak {peak} MB")

if __name__ == "__main__":
    main()
