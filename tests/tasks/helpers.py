"""Small intent/slot split directories on disk, written from the synthetic generator."""

from tfcompress.data import generate_intent_slot_data, write_intent_slot_dir


def write_split(directory, data):
    write_intent_slot_dir(data, directory)
    return directory


def write_splits_with_unseen_labels(root, train_examples=96, eval_examples=32):
    """train/ and eval/ where eval has one unseen intent (multi-intent '#') on example 0
    and one unseen slot tag on example 1 (its first word tagged B-unseen_slot)."""
    train = generate_intent_slot_data(train_examples, seed=0)
    evaluation = generate_intent_slot_data(eval_examples, seed=1)
    evaluation.intents[0] = f"{evaluation.intents[0]}#{evaluation.intents[1]}"
    evaluation.tags[1][0] = "B-unseen_slot"
    return write_split(root / "train", train), write_split(root / "eval", evaluation)
