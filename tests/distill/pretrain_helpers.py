"""A tiny mixed-vocabulary world: corpus files, a word-level teacher vocabulary with its
random checkpoint, a character-level student vocabulary, and recipes for the three stages."""

import numpy as np

from tests.conftest import tiny_encoder_config
from tests.models.helpers import write_tiny_checkpoint
from tfcompress.data.vocabulary import DEFAULT_RESERVED_TOKENS, ascii_tokens

WORDS = (
    "the cat dog bird sat ran flew on under over a mat tree roof quickly slowly "
    "and then it was red blue green small big"
).split()


def corpus_lines(count, seed):
    rng = np.random.default_rng(seed)
    return [" ".join(rng.choice(WORDS, size=rng.integers(6, 16))) + " ." for _ in range(count)]


def teacher_vocab():
    return list(dict.fromkeys([*DEFAULT_RESERVED_TOKENS, *WORDS, *ascii_tokens()]))


def student_vocab():
    # Characters plus a few pieces: most words split into several student tokens.
    return list(DEFAULT_RESERVED_TOKENS) + ascii_tokens() + ["the", "##at", "##ed"]


def write_world(root):
    """Writes corpus, vocabularies and teacher under `root`; returns their paths."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "train.txt").write_text("\n".join(corpus_lines(120, 0)) + "\n")
    (root / "eval.txt").write_text("\n".join(corpus_lines(20, 1)) + "\n")
    (root / "student_vocab.txt").write_text("\n".join(student_vocab()) + "\n")
    vocab = teacher_vocab()
    config = tiny_encoder_config(vocab_size=len(vocab), max_length=32)
    write_tiny_checkpoint(root / "teacher", config, vocab=vocab)
    return root


def recipe(root, stage, output, **overrides):
    """A recipe dict for `stage` in the world at `root`."""
    values = {
        "stage": stage,
        "output_dir": str(output),
        "corpus": {
            "train": [str(root / "train.txt")],
            "eval": [str(root / "eval.txt")],
            "eval_examples": 32,
        },
        "student": {
            "encoder": {
                "hidden_size": 16,
                "num_layers": 2,
                "num_heads": 2,
                "intermediate_size": 32,
                "dropout": 0.0,
                "attention_dropout": 0.0,
            }
        },
        "masking": {"sequence_length": 24, "max_masked": 6, "max_teacher_masked": 3},
        "training": {"epochs": 3, "steps_per_epoch": 12, "batch_size": 8, "learning_rate": 3e-3},
    }
    if stage == "stage1":
        values["teacher"] = {"checkpoint": str(root / "teacher")}
    if stage in ("stage1", "nokd"):
        values["student"]["vocab"] = str(root / "student_vocab.txt")
    values.update(overrides)
    return values
