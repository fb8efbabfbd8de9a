"""Per-sentence latency of a .tflite on real inputs: what one sentence costs a phone app."""

import time
from pathlib import Path

import numpy as np


class SentenceTimer:
    """One model with its per-sentence feeds, timed sentence by sentence, round after round.

    Each sentence is one `set_tensor` per input, one `invoke` and a read of every output:
    what an app's call costs, without the signature runner's Python-side copies. A split text
    model (the tokenizer as its own signature) runs `tokenize`, then its ids through the
    encoder's signature, both counted. A sentence's time is its median over the rounds
    (`sentence_ms`); rounds of several models can be interleaved by the caller so that
    machine noise hits all alike.

    Args:
        model: a .tflite path or its bytes (tensorflow-text kernels are registered when
            the model has custom ops).
        feeds: one `{signature input name: array}` per sentence, e.g. `text_feeds(...)`.
        num_threads: interpreter threads.
    """

    def __init__(self, model, feeds, num_threads=1):
        content = model if isinstance(model, bytes) else Path(model).read_bytes()
        self.size_bytes = len(content)
        self.interpreter = _interpreter(content, num_threads)
        self.interpreter.allocate_tensors()
        self._steps = [_Step(self.interpreter, key) for key in _signature_chain(self.interpreter)]
        first = self._steps[0]
        self._feeds = [{first.inputs[name]: value for name, value in f.items()} for f in feeds]
        self._clear()
        self.round()  # allocation, delegate set-up and caches happen here, untimed
        self._clear()

    def _clear(self):
        self._times = [[] for _ in self._feeds]
        self._front_times = [[] for _ in self._feeds]

    def round(self, before_each=None):
        """Run every sentence once, timing each. `before_each()`, if given, runs before each
        sentence, untimed (e.g. evicting the caches to time a cold call)."""
        first, last = self._steps[0], self._steps[-1]
        for times, front_times, feed in zip(self._times, self._front_times, self._feeds):
            if before_each is not None:
                before_each()
            start = time.perf_counter()
            for index, value in feed.items():
                first.set(index, value)
            for before, step in zip(self._steps, self._steps[1:]):  # split: tokenize, copy ids
                before.invoke()
                for name, index in step.inputs.items():
                    step.set(index, before.get(before.outputs[name]))
            front = time.perf_counter()
            last.invoke()
            for index in last.outputs.values():
                last.get(index)
            times.append(time.perf_counter() - start)
            front_times.append(front - start)

    @property
    def rounds(self) -> int:
        return len(self._times[0]) if self._times else 0

    def sentence_ms(self, front: bool = False) -> np.ndarray:
        """Each sentence's median time over the rounds so far, in ms. `front`: only the part
        before the last signature's `invoke` (inputs set; a split model's `tokenize` run and
        its ids copied), which two layouts of one encoder can be compared on directly."""
        if not self.rounds:
            raise ValueError("no round timed yet: call round() first")
        times = self._front_times if front else self._times
        return np.array([np.median(t) for t in times]) * 1e3

    def summary(self) -> dict:
        """p50/p90/p99 over sentences, and how many sentences and rounds."""
        ms = self.sentence_ms()
        p50, p90, p99 = np.percentile(ms, [50, 90, 99])
        return {
            "p50_ms": float(p50),
            "p90_ms": float(p90),
            "p99_ms": float(p99),
            "sentences": len(ms),
            "rounds": self.rounds,
        }


def text_feeds(texts, text_pairs=None) -> list[dict]:
    """Strings-in feeds: `{"text": [b"..."]}` (and `text_pair`) per sentence."""
    feeds = []
    for i, text in enumerate(texts):
        feed = {"text": np.array([text.encode()], dtype=object)}
        if text_pairs is not None:
            feed["text_pair"] = np.array([text_pairs[i].encode()], dtype=object)
        feeds.append(feed)
    return feeds


def id_feeds(tokenizer, texts, text_pairs=None) -> list[dict]:
    """Ids-in feeds: `tokenizer`'s batch-1 ids ({token_ids, segment_ids, padding_mask}) per
    sentence, as an app that tokenizes outside the model would pass them."""
    feeds = []
    for i, text in enumerate(texts):
        encoded = tokenizer([text], None if text_pairs is None else [text_pairs[i]])
        feeds.append({name: np.asarray(value) for name, value in encoded.items()})
    return feeds


def time_sentences(model, feeds, rounds=3, num_threads=1) -> dict:
    """`SentenceTimer(model, feeds).summary()` after `rounds` rounds."""
    timer = SentenceTimer(model, feeds, num_threads)
    for _ in range(rounds):
        timer.round()
    return timer.summary()


class _Step:
    """One signature's subgraph driven through the interpreter's own wrapper: `set_tensor`,
    `invoke` and `get_tensor` without the signature runner's per-call resizing and copies."""

    def __init__(self, interpreter, key):
        runner = interpreter.get_signature_runner(key)
        self.inputs = {name: d["index"] for name, d in runner.get_input_details().items()}
        self.outputs = {name: d["index"] for name, d in runner.get_output_details().items()}
        wrapper, subgraph = interpreter._interpreter, runner._subgraph_index
        del runner  # it holds tensor references that `invoke` refuses to run beside
        wrapper.AllocateTensors(subgraph)  # `allocate_tensors` covers the first subgraph only
        self.set = lambda index, value: wrapper.SetTensor(index, value, subgraph)
        self.invoke = lambda: wrapper.Invoke(subgraph)
        self.get = lambda index: wrapper.GetTensor(index, subgraph)


def _signature_chain(interpreter) -> list[str]:
    """The signatures one sentence runs through: the model's only (first) one, or a split
    text model's `tokenize` and then its encoder (`export.text_model.split_tokenizer`)."""
    from tfcompress.export import TOKENIZE_SIGNATURE

    keys = list(interpreter.get_signature_list())
    if TOKENIZE_SIGNATURE in keys:
        return [TOKENIZE_SIGNATURE, "serving_default"]
    return keys[:1]


def _interpreter(content: bytes, num_threads: int):
    """A LiteRT interpreter, with tensorflow-text's kernels when the model has custom ops."""
    from ai_edge_litert.interpreter import Interpreter, InterpreterWithCustomOps

    from tfcompress.export.verification import has_custom_ops

    if not has_custom_ops(content):
        return Interpreter(model_content=content, num_threads=num_threads)
    import tensorflow_text

    return InterpreterWithCustomOps(
        custom_op_registerers=tensorflow_text.tflite_registrar.SELECT_TFTEXT_OPS,
        model_content=content,
        num_threads=num_threads,
    )
