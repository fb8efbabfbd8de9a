"""The most probable BIO tag sequence whose spans are all well formed (constrained Viterbi)."""

from collections.abc import Sequence

import numpy as np


class BioTagDecoder:
    """Decodes per-word tag logits into the best tag sequence that BIO allows.

    Argmax tags each word alone, so it can emit spans that no annotation has: "I-city" after
    "O" or after "B-state", or a sentence opening on "I-x". seqeval then reads such a tag as
    a span of its own, which is counted wrong. This decoder keeps the model's per-word
    probabilities and forbids only those transitions: "I-x" may follow "B-x" or "I-x", and
    nothing else. Where argmax is already well formed, the two agree. Tags not of the form
    "B-x" / "I-x" ("O", or a non-BIO tag set) are unconstrained, so decoding a tag set
    without BIO structure gives argmax.

    Args:
        tags: the tag names in the order of the logits' last axis.

    Example:

    ```python
    decoder = BioTagDecoder(["O", "B-city", "I-city"])
    decoder.decode(np.log([[0.6, 0.1, 0.3], [0.2, 0.3, 0.5]]))
    # [0, 1] ("O", "B-city"): argmax's [0, 2] would open a span on "I-city"
    ```
    """

    def __init__(self, tags: Sequence[str]):
        self.tags = list(tags)
        index = {tag: i for i, tag in enumerate(self.tags)}
        self._inside = np.array([i for i, t in enumerate(self.tags) if t.startswith("I-")], int)
        # Each "I-x" continues "B-x" (or, without one in the tag set, only itself).
        self._begin = np.array([index.get("B-" + self.tags[i][2:], i) for i in self._inside], int)
        self._first = np.zeros(len(self.tags))
        self._first[self._inside] = -np.inf

    def decode(self, word_logits) -> list[int]:
        """Tag ids for the words of one sentence, `word_logits` [words, tags]."""
        scores = _log_softmax(np.asarray(word_logits, dtype=np.float64))
        if len(scores) == 0:
            return []
        best = scores[0] + self._first
        backpointers = []
        for word_scores in scores[1:]:
            # Any tag but "I-x" may follow the best tag; "I-x" only the better of B-x, I-x.
            pointers = np.full(len(self.tags), best.argmax())
            pointers[self._inside] = np.where(
                best[self._begin] > best[self._inside], self._begin, self._inside
            )
            backpointers.append(pointers)
            best = best[pointers] + word_scores
        path = [int(best.argmax())]
        for pointers in reversed(backpointers):
            path.append(int(pointers[path[-1]]))
        return path[::-1]


def _log_softmax(logits):
    shifted = logits - logits.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))
