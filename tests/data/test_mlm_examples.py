"""Mixed segmentation and MLM masking on hand-made sentences."""

import numpy as np
import pytest

from tests.distill.pretrain_helpers import corpus_lines, student_vocab, teacher_vocab
from tfcompress.data import WordPieceTokenizer
from tfcompress.data.mlm_examples import (
    MaskingConfig,
    choose_masked_positions,
    fixed_mlm_examples,
    mlm_dataset,
    paragraph_examples,
)
from tfcompress.data.segmented_corpus import SegmentedCorpus
from tfcompress.errors import ConfigError, DataError

SENTENCES = ["The cat sat on the mat.", "Then it flew over a tree, quickly!"]


@pytest.fixture(scope="module")
def mixed():
    return SegmentedCorpus.from_texts(SENTENCES, [teacher_vocab(), student_vocab()])


def test_each_word_is_segmented_as_its_vocabulary_tokenizer_does(mixed):
    teacher, student = (WordPieceTokenizer(v) for v in (teacher_vocab(), student_vocab()))
    offset = len(teacher_vocab())
    words = mixed.paragraph_words(0)
    all_student, _ = mixed.segment(0, np.ones(words, bool))
    all_teacher, _ = mixed.segment(0, np.zeros(words, bool))
    assert [student.vocab[i - offset] for i in all_student] == student.tokenize(SENTENCES[0])
    assert [teacher.vocab[i] for i in all_teacher] == teacher.tokenize(SENTENCES[0])
    # "the cat sat on the mat ." with words 1 and 2 (cat, sat) from the student vocabulary.
    ids, from_student = mixed.segment(0, np.array([0, 1, 1, 0, 0, 0, 0], bool))
    pieces = [(teacher_vocab() + student_vocab())[i] for i in ids]
    assert pieces == ["the", "c", "##at", "s", "##at", "on", "the", "mat", "."]
    assert from_student.tolist() == [False, True, True, True, True, False, False, False, False]
    # The id says the vocabulary: student ids follow the teacher's.
    assert ((ids >= offset) == from_student).all()


def test_student_share_of_words_follows_p():
    corpus = SegmentedCorpus.from_texts(corpus_lines(300, 0), [teacher_vocab(), student_vocab()])
    masking = MaskingConfig(sequence_length=512, student_probability=0.3)
    rng = np.random.default_rng(0)
    offset = len(teacher_vocab())
    student_words = total_words = 0
    for paragraph in range(corpus.num_paragraphs):
        inputs, _ = next(paragraph_examples(corpus, paragraph, masking, rng))
        unmasked = inputs["padding_mask"] == 1
        unmasked[[0, unmasked.sum() - 1]] = False  # [CLS], [SEP]
        unmasked[inputs["mask_positions"]] = False
        ids = inputs["token_ids"][unmasked]
        # A student-segmented word starts with a student piece that is not a ## continuation.
        starts = [i for i in ids if not (teacher_vocab() + student_vocab())[i].startswith("##")]
        student_words += sum(i >= offset for i in starts)
        total_words += len(starts)
    # About 3,000 words: the share is within 4 standard errors of p.
    assert abs(student_words / total_words - 0.3) < 4 * np.sqrt(0.3 * 0.7 / total_words)


def test_masking_respects_the_20_and_10_limits():
    rng = np.random.default_rng(0)
    masking = MaskingConfig()
    for teacher_share in (0.0, 0.5, 0.9, 1.0):
        from_student = rng.random(200) >= teacher_share
        positions = choose_masked_positions(from_student, masking, rng)
        assert len(positions) == (20 if teacher_share < 1.0 else 10)
        assert (~from_student[positions]).sum() <= 10
        assert len(set(positions)) == len(positions)
    # Short inputs: 15% rounded, at least one.
    assert len(choose_masked_positions(np.ones(40, bool), masking, rng)) == 6
    assert len(choose_masked_positions(np.ones(2, bool), masking, rng)) == 1


def test_examples_label_masked_tokens_in_the_vocabulary_that_segmented_them():
    corpus = SegmentedCorpus.from_texts(corpus_lines(200, 0), [teacher_vocab(), student_vocab()])
    masking = MaskingConfig(sequence_length=32, max_masked=6, max_teacher_masked=3)
    inputs, targets = fixed_mlm_examples(corpus, masking, 400, seed=0)
    offset, mask_id = len(teacher_vocab()), teacher_vocab().index("[MASK]")
    weights = targets["mask_weights"] == 1
    labels = targets["mask_labels"][weights]
    assert (targets["mask_weights"].sum(1) <= 6).all()
    assert ((targets["mask_labels"] < offset) & weights).sum(1).max() <= 3
    assert (inputs["mask_positions"][weights] >= 1).all()  # never [CLS]
    # 80% [MASK], 10% a random token of the label's vocabulary, 10% unchanged.
    seen = np.take_along_axis(inputs["token_ids"], inputs["mask_positions"], 1)[weights]
    masked, kept = (seen == mask_id).mean(), (seen == labels).mean()
    assert 0.75 < masked < 0.85 and 0.07 < kept < 0.16
    replaced = (seen != mask_id) & (seen != labels)
    assert ((seen[replaced] >= offset) == (labels[replaced] >= offset)).all()
    # Frames: [CLS] first, [SEP] after the last real token.
    lengths = inputs["padding_mask"].sum(1)
    assert (inputs["token_ids"][:, 0] == teacher_vocab().index("[CLS]")).all()
    last = inputs["token_ids"][np.arange(len(lengths)), lengths - 1]
    assert (last == teacher_vocab().index("[SEP]")).all()


def test_examples_are_reproducible_from_the_seed():
    corpus = SegmentedCorpus.from_texts(corpus_lines(50, 0), [teacher_vocab(), student_vocab()])
    masking = MaskingConfig(sequence_length=24, max_masked=4)
    first, again = (fixed_mlm_examples(corpus, masking, 30, seed=3) for _ in range(2))
    other = fixed_mlm_examples(corpus, masking, 30, seed=4)
    for key in first[0]:
        np.testing.assert_array_equal(first[0][key], again[0][key])
    assert not np.array_equal(first[0]["token_ids"], other[0]["token_ids"])
    batches = [next(iter(mlm_dataset(corpus, masking, 8, seed=3))) for _ in range(2)]
    np.testing.assert_array_equal(batches[0][0]["token_ids"], batches[1][0]["token_ids"])


def test_long_paragraphs_are_cut_into_full_chunks():
    corpus = SegmentedCorpus.from_texts([" ".join(["cat"] * 50)], [student_vocab()])
    masking = MaskingConfig(sequence_length=16, max_masked=2, min_tokens=3)
    rng = np.random.default_rng(0)
    lengths = [x[0]["padding_mask"].sum() for x in paragraph_examples(corpus, 0, masking, rng)]
    # "cat" is c ##at: 100 pieces in chunks of 14, and a last one of 2 (< min_tokens) dropped.
    assert lengths == [16] * 7


@pytest.mark.parametrize("p", [-0.1, 1.5])
def test_probability_outside_0_1_is_a_config_error(p):
    with pytest.raises(ConfigError, match="student_probability"):
        MaskingConfig(student_probability=p)


def test_corpus_without_a_usable_line(tmp_path):
    empty = tmp_path / "empty.txt"
    empty.write_text("\n   \n")
    with pytest.raises(DataError, match="no usable line"):
        SegmentedCorpus.read([empty], [student_vocab()])
    short = tmp_path / "short.txt"
    short.write_text("hi\nok then\n")
    with pytest.raises(DataError, match="no usable paragraph"):
        SegmentedCorpus.read([short], [student_vocab()])
