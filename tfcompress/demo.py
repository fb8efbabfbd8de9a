"""The main job: an end-to-end run on the embedded synthetic intent + slot data."""

# A 4-layer, 128-wide encoder trained from scratch on our synthetic SNIPS-style
# data with a 600-token WordPiece vocabulary learned from it: a few minutes on
# 2 CPU cores, no downloads. Later stages (distillation, export) extend it.
DEMO_CONFIG = {
    "task": "intent_slot",
    "output_dir": "runs/demo",
    "seed": 0,
    "data": {
        "format": "synthetic",
        "synthetic_train_examples": 3000,
        "synthetic_eval_examples": 500,
    },
    "model": {
        "learn_vocab_size": 600,
        "sequence_length": 32,
        "encoder": {
            "hidden_size": 128,
            "num_layers": 4,
            "num_heads": 4,
            "intermediate_size": 512,
        },
    },
    "training": {"epochs": 4, "batch_size": 32, "learning_rate": 1e-3, "warmup_ratio": 0.1},
}
