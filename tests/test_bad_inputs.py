"""Bad inputs, one per test: each must end in exactly one `error:` line that names the key,
file or line at fault, exit status 2, and leave an earlier finished run byte-identical.

Recipes point their output_dir at a finished run and pass --overwrite, so any write before
the failing check would show up as a changed file. `python -m pytest tests/test_bad_inputs.py`
runs the table; docs/results.md ("Reliability") counts it.
"""

import json
import os

import pytest
import yaml

from tests.models.helpers import write_tiny_checkpoint
from tests.tasks.helpers import write_split
from tests.test_cli import _assert_one_line_error, _digest
from tests.training.helpers import SENTIMENT_ROWS, tiny_values, write_sst2_like
from tfcompress.cli import main
from tfcompress.data import generate_intent_slot_data
from tfcompress.models import EncoderConfig

SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


@pytest.fixture
def world(tmp_path, finished_run):
    """The finished run to protect, good data beside it, and a recipe writer."""
    out, _ = finished_run
    before = _digest(out)
    yield _World(tmp_path, out)
    assert _digest(out) == before, "a failing command changed the earlier run"


class _World:
    def __init__(self, root, protected):
        self.root, self.protected = root, protected
        self.train = write_sst2_like(root / "train.tsv", SENTIMENT_ROWS)

    def sst2_values(self, **changes):
        data = {"format": "glue", "glue_task": "sst2", "train": str(self.train)}
        data["eval"] = str(self.train)
        return tiny_values(self.protected, task="classification", data=data, **changes)

    def recipe(self, values):
        path = self.root / "recipe.yaml"
        path.write_text(yaml.safe_dump(values))
        return ["--config", str(path), "--overwrite"]

    def finetune(self, values, *extra):
        return ["finetune", *self.recipe(values), *extra]

    def with_train_file(self, content, name="bad.tsv"):
        path = self.root / name
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
        values = self.sst2_values()
        values["data"]["train"] = str(path)
        return self.finetune(values)

    def with_vocab(self, tokens):
        vocab = self.root / "vocab.txt"
        vocab.write_text("".join(f"{t}\n" for t in tokens))
        values = tiny_values(self.protected)
        values["model"]["vocab"] = str(vocab)
        del values["model"]["learn_vocab_size"]
        return self.finetune(values)

    def with_checkpoint(self, damage):
        checkpoint = self.root / "checkpoint"
        config = EncoderConfig(
            vocab_size=len(SPECIALS) + 40,
            hidden_size=32,
            num_layers=2,
            num_heads=2,
            intermediate_size=64,
            max_length=32,
        )
        letters = [chr(c) for c in range(ord("a"), ord("z") + 1)]
        vocab = SPECIALS + letters + [f"##{c}" for c in letters[:14]]
        write_tiny_checkpoint(checkpoint, config, vocab=vocab)
        damage(checkpoint)
        values = tiny_values(self.protected)
        values["model"] = {"checkpoint": str(checkpoint), "sequence_length": 24}
        return self.finetune(values)


def _truncate(path, keep=0.5):
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])


def _edit_config(checkpoint, **changes):
    path = checkpoint / "config.json"
    path.write_text(json.dumps({**json.loads(path.read_text()), **changes}))


def _reshape_a_tensor(checkpoint):
    from safetensors.numpy import load_file, save_file

    tensors = load_file(str(checkpoint / "model.safetensors"))
    name = next(n for n in tensors if n.endswith("attention.self.query.weight"))
    tensors[name] = tensors[name][:, :16].copy()
    save_file(tensors, str(checkpoint / "model.safetensors"))


def _unfinished_copy(world):
    run = world.root / "unfinished"
    run.mkdir()
    for name in ("config.yaml", "vocab.txt", "tokenizer.json", "labels.json"):
        (run / name).write_bytes((world.protected / name).read_bytes())
    return run


def _distill_from(world, teacher):
    values = tiny_values(world.protected)
    values["teacher"] = str(teacher)
    values["student"] = {"num_layers": 1}
    del values["model"]
    return ["distill", *world.recipe(values)]


CASES = {
    # config
    "unknown key": (
        lambda w: w.finetune(tiny_values(w.protected, training__epocs=3)),
        ["config.training.epocs", "unknown key"],
    ),
    "wrong type": (
        lambda w: w.finetune(tiny_values(w.protected, training__epochs="three")),
        ["config.training.epochs", "expected int"],
    ),
    "zero epochs": (
        lambda w: w.finetune(tiny_values(w.protected, training__epochs=0)),
        ["epochs", "positive"],
    ),
    "negative batch size": (
        lambda w: w.finetune(tiny_values(w.protected, training__batch_size=-4)),
        ["batch_size", "-4"],
    ),
    "zero sequence length": (
        lambda w: w.finetune(tiny_values(w.protected, model__sequence_length=0)),
        ["sequence_length"],
    ),
    "--set on a missing key": (
        lambda w: w.finetune(tiny_values(w.protected), "--set", "training.epocs=3"),
        ["config.training.epocs", "unknown key"],
    ),
    "--set on a missing section": (
        lambda w: w.finetune(tiny_values(w.protected), "--set", "nosuch.key=1"),
        ["config.nosuch", "unknown key"],
    ),
    "unknown unseen_labels policy": (
        lambda w: w.finetune(tiny_values(w.protected, data__unseen_labels="ignore")),
        ["unseen_labels", "count_as_wrong"],
    ),
    # data files
    "missing data file": (
        lambda w: w.finetune(
            {**w.sst2_values(), "data": {**w.sst2_values()["data"], "train": "/no/train.tsv"}}
        ),
        ["/no/train.tsv", "not found"],
    ),
    "empty data file": (lambda w: w.with_train_file(""), ["bad.tsv", "no sst2 examples"]),
    "directory for a file": (
        lambda w: w.finetune(
            {**w.sst2_values(), "data": {**w.sst2_values()["data"], "train": str(w.root)}}
        ),
        [" is a directory"],
    ),
    "binary garbage": (
        lambda w: w.with_train_file(bytes(range(256)) * 64),
        ["bad.tsv", "UTF-8"],
    ),
    "invalid UTF-8": (
        lambda w: w.with_train_file("sentence\tlabel\ncaf\xe9 au lait\t1\n".encode("latin-1")),
        ["bad.tsv", "UTF-8"],
    ),
    "1 MB line": (
        lambda w: w.with_train_file("sentence\tlabel\n" + "word " * 210_000 + "\t1\n"),
        ["bad.tsv:2", "characters (limit 200,000)"],
    ),
    "non-integer label in a numeric task": (
        lambda w: w.with_train_file("sentence\tlabel\ngood\tpositive\nbad\t0\n"),
        ["data.train", "bad.tsv", "'positive'"],
    ),
    "intent/slot directory without seq.out": (
        lambda w: w.finetune(
            tiny_values(
                w.protected,
                data={"format": "intent_slot", "train": str(_without_seq_out(w)), "eval": "x"},
            )
        ),
        ["seq.out", "not found"],
    ),
    # vocabularies
    **{
        f"vocabulary without {token}": (
            lambda w, token=token: w.with_vocab([t for t in SPECIALS if t != token] + ["a"]),
            ["vocab.txt", token],
        )
        for token in SPECIALS[:4]
    },
    "student vocabulary without [MASK]": (
        lambda w: _pretrain_without_mask(w),
        ["student_vocab.txt", "'[MASK]'"],
    ),
    "slot_swap on classification data": (
        lambda w: w.finetune(_with_data(w.sst2_values(), slot_swap={"copies": 1})),
        ["data.slot_swap", "classification"],
    ),
    "slot_swap with no copies": (
        lambda w: w.finetune(_with_data(tiny_values(w.protected), slot_swap={"copies": 0})),
        ["data.slot_swap.copies", ">= 1"],
    ),
    "slot_swap probability above 1": (
        lambda w: w.finetune(
            _with_data(tiny_values(w.protected), slot_swap={"probability": 1.5})
        ),
        ["data.slot_swap.probability", "1.5"],
    ),
    "phrase_fill under finetune (no teacher to label the names)": (
        lambda w: w.finetune(
            _with_data(tiny_values(w.protected), phrase_fill={"corpus": ["wiki.txt"]})
        ),
        ["data.phrase_fill", "distill"],
    ),
    "duplicate vocabulary entries": (
        lambda w: w.with_vocab(SPECIALS + ["hello", "hello"]),
        ["vocab.txt", "'hello' more than once"],
    ),
    # checkpoints
    "truncated safetensors": (
        lambda w: w.with_checkpoint(lambda c: _truncate(c / "model.safetensors")),
        ["model.safetensors", "cannot read safetensors"],
    ),
    "config of another architecture": (
        lambda w: w.with_checkpoint(lambda c: _edit_config(c, model_type="gpt2")),
        ["config.json", "gpt2"],
    ),
    "mismatched tensor shapes": (
        lambda w: w.with_checkpoint(_reshape_a_tensor),
        ["model.safetensors", "query.weight", "shape"],
    ),
    # runs
    "export from an unfinished run": (
        lambda w: ["export", str(_unfinished_copy(w))],
        ["not a finished run", "metrics.json"],
    ),
    "export from a deleted run": (
        lambda w: ["export", str(w.root / "deleted")],
        ["no such run directory", "deleted"],
    ),
    "distill from an unfinished teacher": (
        lambda w: _distill_from(w, _unfinished_copy(w)),
        ["teacher:", "not a finished run"],
    ),
    # exports and output directories
    "packed weights on an int8 export": (
        lambda w: ["export", str(w.protected), "--mode", "int8", "--weight-bits", "4"],
        ["--weight-bits", "--mode int8", "--mode qat"],
    ),
    "packed weights on a float run's qat export": (
        lambda w: ["export", str(w.protected), "--mode", "qat", "--weight-bits", "4"],
        ["fits 4 bits", "quantization.scheme"],
    ),
    "export into an unwritable directory": (
        lambda w: ["export", str(w.protected), "--output", str(w.train / "x.tflite")],
        ["--output", "train.tsv is a file"],
    ),
    "output_dir under a file": (
        lambda w: ["finetune", *w.recipe(tiny_values(w.train / "run"))],
        ["output_dir", "train.tsv is a file"],
    ),
}


def _with_data(values, **changes):
    values["data"].update(changes)
    return values


def _without_seq_out(world):
    split = write_split(world.root / "split", generate_intent_slot_data(8, seed=0))
    (split / "seq.out").unlink()
    return split


def _pretrain_without_mask(world):
    vocab = world.root / "student_vocab.txt"
    vocab.write_text("".join(f"{t}\n" for t in SPECIALS[:4] + ["a", "b"]))
    corpus = world.root / "corpus.txt"
    corpus.write_text("a b a b\n")
    values = {
        "stage": "nokd",
        "output_dir": str(world.protected),
        "corpus": {"train": [str(corpus)], "eval": [str(corpus)]},
        "student": {
            "vocab": str(vocab),
            "encoder": {
                "hidden_size": 16,
                "num_layers": 1,
                "num_heads": 2,
                "intermediate_size": 32,
            },
        },
        "masking": {"sequence_length": 16},
        "training": {"epochs": 1, "steps_per_epoch": 1, "batch_size": 2},
    }
    return ["pretrain", *world.recipe(values)]


@pytest.mark.parametrize("case", CASES, ids=list(CASES))
def test_bad_input_is_one_error_line(case, world, capsys):
    make_argv, needles = CASES[case]
    code = main(make_argv(world))
    err = capsys.readouterr().err.strip()
    _assert_one_line_error(code, err, "error:", *needles)


def test_corrupt_tflite_into_the_host_runner(tmp_path, capsys):
    from mobile_eval.host_runner import main as host_runner

    model = tmp_path / "model.tflite"
    model.write_bytes(b"TFL3" + os.urandom(2048))
    code = host_runner([str(model), "--threads", "1", "--runs", "1"])
    _assert_one_line_error(code, capsys.readouterr().err.strip(), "model.tflite")


def _read_back(path, lines):
    from tfcompress.data.glue import read_glue_tsv

    path.write_bytes(lines)
    return read_glue_tsv(path, "sst2")


@pytest.mark.parametrize(
    "prefix, newline", [(b"", b"\r\n"), (b"\xef\xbb\xbf", b"\n"), (b"\xef\xbb\xbf", b"\r\n")]
)
def test_crlf_and_byte_order_mark_read_as_plain_lines(tmp_path, prefix, newline):
    rows = [b"sentence\tlabel", b"a fine film\t1", b"dull\t0"]
    plain = _read_back(tmp_path / "plain.tsv", b"\n".join(rows) + b"\n")
    odd = _read_back(tmp_path / "odd.tsv", prefix + newline.join(rows) + newline)
    assert odd.texts_a == plain.texts_a == ["a fine film", "dull"]
    assert odd.labels.tolist() == plain.labels.tolist() == [1, 0]


def test_crlf_and_byte_order_mark_in_intent_slot_files(tmp_path):
    from tfcompress.data.snips import read_intent_slot_dir

    data = generate_intent_slot_data(6, seed=0)
    plain = read_intent_slot_dir(write_split(tmp_path / "plain", data))
    odd = write_split(tmp_path / "odd", data)
    for name in ("seq.in", "seq.out", "label"):
        text = (odd / name).read_bytes().replace(b"\n", b"\r\n")
        (odd / name).write_bytes(b"\xef\xbb\xbf" + text)
    read = read_intent_slot_dir(odd)
    assert (read.words, read.tags, read.intents) == (plain.words, plain.tags, plain.intents)
