import itertools

import numpy as np
import pytest

from tfcompress.data import BioTagDecoder

TAGS = ["O", "B-city", "I-city", "B-state", "I-state"]


def well_formed(tags):
    return all(
        not t.startswith("I-") or prev in ("B-" + t[2:], t)
        for prev, t in zip(["O", *tags], tags)
    )


def best_well_formed(log_probs):
    """The most probable well-formed sequence, by enumerating every sequence."""
    candidates = [
        path
        for path in itertools.product(range(len(TAGS)), repeat=len(log_probs))
        if well_formed([TAGS[i] for i in path])
    ]
    return max(candidates, key=lambda p: sum(log_probs[k, i] for k, i in enumerate(p)))


def test_an_inside_tag_after_outside_becomes_the_best_well_formed_sequence():
    decoder = BioTagDecoder(["O", "B-city", "I-city"])
    # Argmax says O I-city; of the well-formed sequences O B-city is the most probable.
    logits = np.log([[0.6, 0.1, 0.3], [0.2, 0.3, 0.5]])
    assert logits.argmax(-1).tolist() == [0, 2]
    assert decoder.decode(logits) == [0, 1]


@pytest.mark.parametrize("seed", range(20))
def test_decoding_finds_the_most_probable_well_formed_sequence(seed):
    rng = np.random.default_rng(seed)
    logits = rng.normal(scale=3.0, size=(int(rng.integers(1, 5)), len(TAGS)))
    path = BioTagDecoder(TAGS).decode(logits)
    log_probs = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    assert tuple(path) == best_well_formed(log_probs)
    assert well_formed([TAGS[i] for i in path])


def test_well_formed_argmax_is_kept():
    logits = np.full((4, len(TAGS)), -2.0)
    argmax = [1, 2, 0, 3]  # B-city I-city O B-state
    logits[np.arange(4), argmax] = 1.0
    assert BioTagDecoder(TAGS).decode(logits) == argmax


def test_a_span_cannot_change_type_inside():
    logits = np.log([[0.1, 0.8, 0.02, 0.06, 0.02], [0.1, 0.02, 0.3, 0.03, 0.55]])
    assert BioTagDecoder(TAGS).decode(logits) == [1, 2]  # not B-city I-state


def test_tags_without_bio_structure_decode_as_argmax():
    logits = np.random.default_rng(0).normal(size=(6, 3))
    decoded = BioTagDecoder(["none", "city", "state"]).decode(logits)
    assert decoded == logits.argmax(-1).tolist()


def test_a_sentence_with_no_words_decodes_to_nothing():
    assert BioTagDecoder(TAGS).decode(np.zeros((0, len(TAGS)))) == []
