"""Masked-LM examples from a `SegmentedCorpus`: mixed segmentation, fixed-length chunks,
BERT's 80/10/10 masking, as a seeded tf.data pipeline."""

import dataclasses

import numpy as np

from tfcompress.errors import ConfigError

MASKED_INPUT_NAMES = ("token_ids", "segment_ids", "padding_mask", "mask_positions")


@dataclasses.dataclass
class MaskingConfig:
    """How pretraining examples are cut and masked (Zhao et al. §3, BERT §3.1).

    Args:
        sequence_length: int, tokens per example with [CLS] and [SEP]. Defaults to `128`.
        mask_rate: float, the share of tokens masked (rounded, at least one).
            Defaults to `0.15`.
        max_masked: int, at most this many masked tokens per example. Defaults to `20`.
        student_probability: float in [0, 1], the chance that a word is segmented by
            the student vocabulary (mixed segmentation, stage I). Defaults to `0.5`.
        max_teacher_masked: int, at most this many masked tokens segmented by the
            teacher's vocabulary. Defaults to `10`.
        min_tokens: int, a paragraph's last chunk shorter than this is dropped.
            Defaults to `8`.
    """

    sequence_length: int = 128
    mask_rate: float = 0.15
    max_masked: int = 20
    student_probability: float = 0.5
    max_teacher_masked: int = 10
    min_tokens: int = 8

    def __post_init__(self):
        if not 8 <= self.sequence_length <= 512:
            raise ConfigError(f"sequence_length: must be in [8, 512], got {self.sequence_length}")
        if not 0.0 < self.mask_rate < 1.0:
            raise ConfigError(f"mask_rate: must be in (0, 1), got {self.mask_rate}")
        if not 0.0 <= self.student_probability <= 1.0:
            raise ConfigError(
                f"student_probability: must be in [0, 1] (the chance a word is segmented by the "
                f"student vocabulary), got {self.student_probability}"
            )
        for key in ("max_masked", "min_tokens"):
            if getattr(self, key) < 1:
                raise ConfigError(f"{key}: must be at least 1, got {getattr(self, key)}")
        if self.max_teacher_masked < 0:
            raise ConfigError(f"max_teacher_masked: must be >= 0, got {self.max_teacher_masked}")


def choose_student_words(num_words, probability, rng):
    """Mixed segmentation: True where a word is segmented by the student vocabulary."""
    return rng.random(num_words) < probability


def choose_masked_positions(from_student, masking, rng):
    """Sorted positions to mask among `len(from_student)` content tokens: the mask rate,
    at most `max_masked`, and at most `max_teacher_masked` teacher-segmented ones."""
    count = min(masking.max_masked, max(1, round(len(from_student) * masking.mask_rate)))
    order = rng.permutation(len(from_student))
    teacher_rank = np.cumsum(~from_student[order])
    allowed = from_student[order] | (teacher_rank <= masking.max_teacher_masked)
    return np.sort(order[allowed][:count])


def corrupt(ids, positions, vocab_of, corpus, mask_id, rng):
    """BERT's replacement: 80% [MASK], 10% a random token of the same vocabulary, 10% kept."""
    ids = ids.copy()
    draw = rng.random(len(positions))
    offsets, sizes = np.array(corpus.vocab_offsets), np.array(corpus.vocab_sizes)
    vocab = vocab_of[positions]
    random_ids = offsets[vocab] + (rng.random(len(positions)) * sizes[vocab]).astype(np.int64)
    ids[positions] = np.where(draw < 0.8, mask_id, np.where(draw < 0.9, random_ids, ids[positions]))
    return ids


class _ExampleWriter:
    """Frames chunks as [CLS] chunk [SEP] + padding, masks them, and pads the mask arrays."""

    def __init__(self, corpus, masking):
        self.corpus, self.masking = corpus, masking
        self.cls, self.sep = corpus.home_id("[CLS]"), corpus.home_id("[SEP]")
        self.pad, self.mask = corpus.home_id("[PAD]"), corpus.home_id("[MASK]")
        self.student_vocab = len(corpus.vocabularies) - 1

    def __call__(self, ids, from_student, rng):
        m, length = self.masking, self.masking.sequence_length
        positions = choose_masked_positions(from_student, m, rng)
        vocab_of = np.where(from_student, self.student_vocab, 0)
        labels = ids[positions]
        ids = corrupt(ids, positions, vocab_of, self.corpus, self.mask, rng)
        token_ids = np.full(length, self.pad, np.int32)
        token_ids[0], token_ids[1 : len(ids) + 1], token_ids[len(ids) + 1] = self.cls, ids, self.sep
        padding_mask = (np.arange(length) < len(ids) + 2).astype(np.int32)
        mask_positions = np.zeros(m.max_masked, np.int32)
        mask_labels = np.zeros(m.max_masked, np.int32)
        mask_weights = np.zeros(m.max_masked, np.float32)
        mask_positions[: len(positions)] = positions + 1  # after [CLS]
        mask_labels[: len(positions)] = labels
        mask_weights[: len(positions)] = 1.0
        inputs = {
            "token_ids": token_ids,
            "segment_ids": np.zeros(length, np.int32),
            "padding_mask": padding_mask,
            "mask_positions": mask_positions,
        }
        return inputs, {"mask_labels": mask_labels, "mask_weights": mask_weights}


def paragraph_examples(corpus, paragraph, masking, rng, writer=None):
    """The examples of one paragraph: segment it, cut it into chunks, mask each."""
    writer = writer or _ExampleWriter(corpus, masking)
    probability = masking.student_probability if len(corpus.vocabularies) > 1 else 1.0
    from_student = choose_student_words(corpus.paragraph_words(paragraph), probability, rng)
    ids, token_from_student = corpus.segment(paragraph, from_student)
    width = masking.sequence_length - 2
    for start in range(0, len(ids), width):
        chunk = slice(start, start + width)
        if len(ids[chunk]) >= masking.min_tokens or start == 0:
            yield writer(ids[chunk], token_from_student[chunk], rng)


def mlm_examples(corpus, masking, seed):
    """An endless, seeded stream of examples: paragraphs in a fresh random order each pass."""
    rng = np.random.default_rng(seed)
    writer = _ExampleWriter(corpus, masking)
    while True:
        for paragraph in rng.permutation(corpus.num_paragraphs):
            yield from paragraph_examples(corpus, paragraph, masking, rng, writer)


def mlm_dataset(corpus, masking, batch_size, seed, shuffle_buffer=1024):
    """`tf.data` of (inputs, targets) batches from `mlm_examples`, endless.

    Chunks of one paragraph are consecutive in the stream; the shuffle buffer mixes
    them with other paragraphs' chunks.
    """
    import tensorflow as tf

    length, masked = masking.sequence_length, masking.max_masked
    signature = (
        {name: tf.TensorSpec([length], tf.int32) for name in MASKED_INPUT_NAMES[:3]}
        | {"mask_positions": tf.TensorSpec([masked], tf.int32)},
        {
            "mask_labels": tf.TensorSpec([masked], tf.int32),
            "mask_weights": tf.TensorSpec([masked], tf.float32),
        },
    )
    dataset = tf.data.Dataset.from_generator(
        lambda: mlm_examples(corpus, masking, seed), output_signature=signature
    )
    return (
        dataset.shuffle(shuffle_buffer, seed=seed)
        .batch(batch_size, drop_remainder=True)
        .prefetch(tf.data.AUTOTUNE)
    )


def fixed_mlm_examples(corpus, masking, count, seed):
    """`count` examples stacked into arrays, the same ones for the same seed (evaluation)."""
    stream = mlm_examples(corpus, masking, seed)
    examples = [next(stream) for _ in range(count)]
    inputs = {k: np.stack([e[0][k] for e in examples]) for k in examples[0][0]}
    targets = {k: np.stack([e[1][k] for e in examples]) for k in examples[0][1]}
    return inputs, targets
