"""What a run is about to do, worked out before its first step: `tfcompress check` prints it,
and every training command prints its warnings before training."""

import dataclasses
import sys
from collections import Counter

import numpy as np

TRUNCATION_WARNING_SHARE = 0.01  # more than 1% of examples cut off deserves a warning
TOKENIZED_SAMPLE = 5000  # examples per split whose token lengths are measured


@dataclasses.dataclass
class RunPlan:
    """Rows of (what, value) and warnings, in the order a reader checks them.

    Args:
        title: the command and what it runs ("finetune", "pretrain (stage1)").
        rows: (name, value) pairs, both strings.
        warnings: one line each; training still starts.
    """

    title: str
    rows: list = dataclasses.field(default_factory=list)
    warnings: list = dataclasses.field(default_factory=list)

    def add(self, name, value):
        self.rows.append((name, value if isinstance(value, str) else f"{value:,}"))

    def print_warnings(self, stream=None):
        for line in self.warnings:
            print(f"warning: {line}", file=stream or sys.stderr)


def output_rows(plan, run, resuming):
    if resuming:
        state = "resumes the interrupted run there"
    elif run.path.exists() and any(run.path.iterdir()):
        state = "replaced (--overwrite)"
    else:
        state = "new"
    plan.add("output directory", str(run.path))
    plan.add("output directory state", state)


def task_plan(title, run, resuming, runtime, training, steps_per_epoch, source=None):
    """The plan of a task run (finetune, distill, quantize): output directory, the run it
    starts from (`source`: (what, directory)), data, labels, truncation and schedule."""
    plan = RunPlan(title)
    output_rows(plan, run, resuming)
    if source:
        plan.add(source[0], str(source[1]))
    for split, data in (("train", runtime.train), ("eval", runtime.eval)):
        skipped = getattr(data, "skipped", 0)
        plan.add(
            f"{split} examples",
            f"{len(data):,}" + (f" ({skipped} malformed skipped)" if skipped else ""),
        )
    plan.add("train label counts", _label_counts(runtime))
    if runtime.unseen:
        plan.add(
            "eval unseen labels",
            f"{runtime.unseen.examples} examples scored as wrong (data.unseen_labels: count_as_wrong)",
        )
    for split, data in (("train", runtime.train), ("eval", runtime.eval)):
        _truncation(plan, split, runtime.tokenizer, data)
    plan.add(
        "epochs × steps",
        f"{training.epochs} × {steps_per_epoch:,} = {training.epochs * steps_per_epoch:,}",
    )
    return plan


def model_rows(plan, name, model):
    plan.add(f"{name} parameters", int(model.count_params()))


def _label_counts(runtime, shown=6):
    if hasattr(runtime.train, "texts_a"):
        names = runtime.labels["labels"]
        counts = Counter(names[i] for i in runtime.train.labels.tolist())
    else:
        counts = Counter(runtime.train.intents)
    top = ", ".join(f"{name} {count:,}" for name, count in counts.most_common(shown))
    more = len(counts) - shown
    return f"{len(counts)} classes: {top}" + (f", … {more} more" if more > 0 else "")


def _truncation(plan, split, tokenizer, data):
    """How many examples the sequence length cuts, on a sample of up to TOKENIZED_SAMPLE."""
    sample = data.subset(TOKENIZED_SAMPLE) if len(data) > TOKENIZED_SAMPLE else data
    if hasattr(sample, "texts_a"):
        lengths = tokenizer.packed_lengths(sample.texts_a, sample.texts_b)
    else:
        lengths = tokenizer.packed_lengths(None, words=sample.words)
    limit = tokenizer.sequence_length
    share = float(np.mean(lengths > limit))
    fits = int(np.ceil(np.percentile(lengths, 99)))
    sampled = "" if len(sample) == len(data) else f" (sample of {len(sample):,})"
    plan.add(
        f"{split} truncated at {limit} tokens",
        f"{share:.1%}{sampled}; 99% fit in {fits}, longest {int(lengths.max())}",
    )
    if share > TRUNCATION_WARNING_SHARE:
        plan.warnings.append(
            f"{share:.1%} of the {split} examples are longer than sequence_length {limit} "
            f"and will be cut; {fits} tokens would fit 99% of them (model.sequence_length)"
        )
