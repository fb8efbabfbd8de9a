import pytest

from tfcompress.data.snips import read_intent_slot_dir
from tfcompress.errors import DataError


def make_dir(tmp_path, seq_in, seq_out, labels):
    d = tmp_path / "split"
    d.mkdir()
    for name, lines in (("seq.in", seq_in), ("seq.out", seq_out), ("label", labels)):
        (d / name).write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return d


def test_reads_aligned_files(tmp_path):
    d = make_dir(
        tmp_path,
        ["play blue in green ", "weather in new york"],
        ["O B-song I-song I-song ", "O O B-city I-city"],
        ["PlayMusic", "GetWeather"],
    )
    data = read_intent_slot_dir(d)
    assert data.words == [["play", "blue", "in", "green"], ["weather", "in", "new", "york"]]
    assert data.tags[1] == ["O", "O", "B-city", "I-city"]
    assert data.intents == ["PlayMusic", "GetWeather"] and data.skipped == 0


def test_line_count_mismatch_names_files(tmp_path):
    d = make_dir(tmp_path, ["a b", "c"], ["O O"], ["X", "Y"])
    with pytest.raises(DataError, match=r"seq.in: 2.*seq.out: 1.*label: 2"):
        read_intent_slot_dir(d)


def test_word_tag_count_mismatch_names_file_and_line(tmp_path):
    d = make_dir(tmp_path, ["a b", "c d e", "f"], ["O O", "O O", "O"], ["X", "Y", "Z"])
    with pytest.raises(DataError, match=r"seq.out:2: 2 tags for 3 words"):
        read_intent_slot_dir(d)
    data = read_intent_slot_dir(d, skip_malformed=True)
    assert data.intents == ["X", "Z"] and data.skipped == 1


def test_non_iob_tag(tmp_path):
    d = make_dir(tmp_path, ["a b"], ["O city"], ["X"])
    with pytest.raises(DataError, match=r"seq.out:1: tag 'city' is not IOB"):
        read_intent_slot_dir(d)


def test_missing_dir_and_file(tmp_path):
    with pytest.raises(DataError, match="nowhere.*not found"):
        read_intent_slot_dir(tmp_path / "nowhere")
    d = make_dir(tmp_path, ["a"], ["O"], ["X"])
    (d / "label").unlink()
    with pytest.raises(DataError, match=r"label: file not found"):
        read_intent_slot_dir(d)
