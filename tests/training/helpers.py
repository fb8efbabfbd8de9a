from tfcompress.training import finetune_config_from_dict


def tiny_values(output_dir, **changes):
    values = {
        "task": "intent_slot",
        "output_dir": str(output_dir),
        "seed": 0,
        "data": {
            "format": "synthetic",
            "synthetic_train_examples": 96,
            "synthetic_eval_examples": 32,
        },
        "model": {
            "learn_vocab_size": 300,
            "sequence_length": 24,
            "encoder": {
                "hidden_size": 32,
                "num_layers": 2,
                "num_heads": 2,
                "intermediate_size": 64,
            },
        },
        "training": {"epochs": 2, "batch_size": 16, "learning_rate": 3e-3},
    }
    for dotted, value in changes.items():
        *parents, last = dotted.split("__")
        node = values
        for key in parents:
            node = node.setdefault(key, {})
        node[last] = value
    return values


def tiny_config(output_dir, **changes):
    return finetune_config_from_dict(tiny_values(output_dir, **changes))


def write_sst2_like(path, rows, header=True):
    lines = (["sentence\tlabel"] if header else []) + [f"{t}\t{y}" for t, y in rows]
    path.write_text("\n".join(lines) + "\n")
    return path


SENTIMENT_ROWS = [
    ("a wonderful , moving film", 1),
    ("dull and lifeless", 0),
    ("great acting", 1),
    ("a boring mess", 0),
    ("truly delightful", 1),
    ("painfully slow", 0),
    ("charming and funny", 1),
    ("tedious , flat script", 0),
] * 4
