"""A strings-in model's outputs, served to the task metrics as if a model ran on ids."""

import numpy as np

from tfcompress.export.text_model import ID_OUTPUTS
from tfcompress.export.verification import ParityError


class ReplayedOutputs:
    """Callable like a task model on the eval batches, in their order: returns the text
    model's outputs for the next rows, after checking that the text model tokenized them to
    the ids it is called with. So `TaskRuntime.evaluate` scores what the .tflite computed
    from strings, words and labels aligned as for any model.

    Args:
        outputs: `run_text_model`'s dict over the eval texts in order, its per-token outputs
            padded to the sequence length.
    """

    def __init__(self, outputs):
        self.outputs, self.row = outputs, 0

    def __call__(self, inputs, training=False):
        ids = np.asarray(inputs["token_ids"])
        rows = slice(self.row, self.row + len(ids))
        self.row += len(ids)
        if not np.array_equal(self.outputs["token_ids"][rows], ids):
            raise ParityError(
                f"the text model's token ids differ from the tokenizer's in eval rows "
                f"{rows.start}-{rows.stop - 1}"
            )
        task = {k: v[rows] for k, v in self.outputs.items() if k not in ID_OUTPUTS}
        return task["logits"] if list(task) == ["logits"] else task
