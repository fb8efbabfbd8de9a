"""Opening a .tflite with the LiteRT or tflite-runtime interpreter, tensorflow-text custom ops
when the model needs them, and the session that runs a loaded model."""

import importlib

from tfcompress.export import TOKENIZE_SIGNATURE
from tfcompress.latency.errors import LatencyError

INTERPRETERS = ("litert", "tflite_runtime")
_PACKAGES = {"litert": "ai_edge_litert", "tflite_runtime": "tflite_runtime"}


def interpreter_module(name):
    """Import the interpreter package lazily: tflite-runtime is optional, not a dependency."""
    if name == "litert":
        return importlib.import_module("ai_edge_litert.interpreter")
    if name == "tflite_runtime":
        try:
            return importlib.import_module("tflite_runtime.interpreter")
        except ImportError:
            raise LatencyError(
                "interpreter 'tflite_runtime' is not installed: pip install tflite-runtime "
                "(optional; the default interpreter 'litert' comes with tfcompress)"
            ) from None
    raise LatencyError(f"unknown interpreter {name!r}; expected one of {', '.join(INTERPRETERS)}")


def interpreter_version(interpreter):
    """The interpreter package's __version__, or None where it has none."""
    return getattr(importlib.import_module(_PACKAGES[interpreter]), "__version__", None)


def _text_op_registerers():
    """tensorflow-text's TFLite kernels; importing it pulls in TensorFlow, so only on demand."""
    try:
        from tensorflow_text import tflite_registrar
    except ImportError:
        raise LatencyError(
            "the model uses tensorflow-text custom ops but tensorflow_text cannot be imported"
        ) from None
    return tflite_registrar.SELECT_TFTEXT_OPS


def _is_unresolved_op(error):
    return "unresolved custom op" in str(error)


def _one_line(error):
    return " ".join(str(error).split())


def open_interpreter(module, model_path, threads, custom_ops):
    """Build and allocate: unresolved custom ops only surface in allocate_tensors()."""
    kwargs = {"model_path": str(model_path), "num_threads": threads}
    try:
        if custom_ops:
            interp = module.InterpreterWithCustomOps(
                custom_op_registerers=_text_op_registerers(), **kwargs
            )
        else:
            interp = module.Interpreter(**kwargs)
        interp.allocate_tensors()
    except (RuntimeError, ValueError) as e:
        # Left as is for open_resolving_custom_ops to retry with the tensorflow-text kernels.
        if _is_unresolved_op(e) and not custom_ops:
            raise
        raise LatencyError(f"{model_path}: cannot load the model: {_one_line(e)}") from None
    return interp


def open_resolving_custom_ops(module, model_path, threads, custom_ops):
    """Open the model; custom_ops=None retries with tensorflow-text ops when one is missing.

    Returns (interpreter, custom_ops_used).
    """
    if custom_ops is None:
        from pathlib import Path

        # Read from the op codes: a custom op in a later subgraph (a split text model's
        # tokenizer) would not fail the first subgraph's allocation.
        custom_ops = _lists_custom_ops(Path(model_path).read_bytes())
    try:
        return open_interpreter(module, model_path, threads, bool(custom_ops)), bool(custom_ops)
    except (RuntimeError, ValueError) as e:
        if custom_ops is False:
            raise LatencyError(
                f"{model_path}: {_one_line(e)} (custom ops are disabled; allow them to load "
                "tensorflow-text kernels)"
            ) from None
        return open_interpreter(module, model_path, threads, True), True


def _lists_custom_ops(content):
    """True when the flatbuffer's op codes name a custom op; None when it cannot be read (the
    interpreter then reports what is wrong with the file)."""
    from tfcompress.export.verification import has_custom_ops

    try:
        return has_custom_ops(content) or None
    except Exception:  # not a flatbuffer: flatbuffers raises whatever its parser hits
        return None


class InterpreterSession:
    """One loaded interpreter and how to run it: the signature runner when the model has a
    signature (what an app calls; a split text model's `tokenize` and then its encoder), else
    plain set_tensor/invoke."""

    def __init__(self, interp):
        self.interp = interp
        signatures = interp.get_signature_list()
        self.signature = None
        self.front = None
        if TOKENIZE_SIGNATURE in signatures:  # a split text model: tokenizer, then encoder
            self.signature = f"{TOKENIZE_SIGNATURE}+serving_default"
            self.front = interp.get_signature_runner(TOKENIZE_SIGNATURE)
            self.runner = interp.get_signature_runner("serving_default")
            self.details = self.front.get_input_details()
        elif signatures:
            self.signature = (
                "serving_default" if "serving_default" in signatures else next(iter(signatures))
            )
            self.runner = interp.get_signature_runner(self.signature)
            self.details = self.runner.get_input_details()
        else:
            self.details = {d["name"]: d for d in interp.get_input_details()}
        self._feed = {}

    @property
    def timed(self):
        return "signature_runner" if self.signature else "invoke"

    def feed(self, inputs):
        """Place the inputs once; the timed call then re-runs the model on them."""
        if self.signature:
            self._feed = inputs
            return
        for name, value in inputs.items():
            index = self.details[name]["index"]
            if tuple(self.details[name]["shape"]) != value.shape:
                self.interp.resize_tensor_input(index, list(value.shape))
        self.interp.allocate_tensors()
        for name, value in inputs.items():
            self.interp.set_tensor(self.details[name]["index"], value)

    def run(self):
        if self.front is not None:
            ids = self.front(**self._feed)
            self.runner(**{name: ids[name] for name in self.runner.get_input_details()})
        elif self.signature:
            self.runner(**self._feed)
        else:
            self.interp.invoke()
