"""Public layer and model classes document every constructor argument, and their examples run."""

import dataclasses
import inspect
import re

import keras
import numpy as np
import pytest

import tfcompress.layers
from tfcompress.data import MaskingConfig, SegmentedCorpus
from tfcompress.distill import Distiller, MaskedLMPretrainer
from tfcompress.distill.quantization_distiller import QuantizationDistiller
from tfcompress.layers import FakeQuantizer, LayerNorm
from tfcompress.models import Encoder, EncoderConfig, MaskedLMModel, TaskModel
from tfcompress.models.quantized_copy import QuantizationScheme
from tfcompress.tasks import FinishedRun, TaskRuntime
from tfcompress.tasks.pretrained_run import PretrainedRun

CLASSES = [
    getattr(tfcompress.layers, name)
    for name in tfcompress.layers.__all__
    if isinstance(getattr(tfcompress.layers, name), type)
] + [Encoder, EncoderConfig, MaskedLMModel, TaskModel]
# Documented like the others; their examples need files or data (a recipe, a run, a dataset).
DOCUMENTED_ONLY = [
    TaskRuntime,
    FinishedRun,
    Distiller,
    QuantizationDistiller,
    QuantizationScheme,
    MaskedLMPretrainer,
    MaskingConfig,
    SegmentedCorpus,
    PretrainedRun,
]


def _constructor_arguments(cls):
    if cls is FakeQuantizer:
        return []  # the identity takes none
    if cls is LayerNorm:
        return ["**kwargs"]  # LayerNormalization's own arguments, passed through
    if dataclasses.is_dataclass(cls):
        return list(cls.__dataclass_fields__)
    parameters = inspect.signature(cls.__init__).parameters.values()
    return [
        f"**{p.name}" if p.kind is p.VAR_KEYWORD else p.name for p in parameters if p.name != "self"
    ]


def _example_namespace():
    """What an example may assume its reader has: imports, a config, inputs and an encoder."""
    namespace = {"np": np, "keras": keras}
    namespace.update(
        {cls.__name__: cls for cls in (Encoder, EncoderConfig, MaskedLMModel, TaskModel)}
    )
    namespace.update({name: getattr(tfcompress.layers, name) for name in tfcompress.layers.__all__})
    namespace["config"] = EncoderConfig(
        vocab_size=1000, hidden_size=64, num_layers=2, num_heads=4, intermediate_size=128
    )
    namespace["inputs"] = {
        "token_ids": np.array([[2, 15, 9, 3, 0]], "int32"),
        "segment_ids": np.zeros((1, 5), "int32"),
        "padding_mask": np.array([[1, 1, 1, 1, 0]], "int32"),
    }
    namespace["encoder"] = Encoder(namespace["config"])
    return namespace


@pytest.mark.parametrize("cls", CLASSES + DOCUMENTED_ONLY, ids=lambda cls: cls.__name__)
def test_args_section_lists_every_constructor_argument(cls):
    doc = cls.__doc__
    arguments = _constructor_arguments(cls)
    if arguments:
        assert "\n    Args:\n" in doc, cls.__name__
    for argument in arguments:
        assert re.search(rf"^        {re.escape(argument)}: ", doc, re.M), (cls.__name__, argument)


@pytest.mark.parametrize("cls", CLASSES, ids=lambda cls: cls.__name__)
def test_examples_run(cls):
    examples = re.findall(r"```python\n(.*?)```", cls.__doc__, re.S)
    assert examples, f"{cls.__name__} has no Example"
    for example in examples:
        code = compile(inspect.cleandoc(example), f"<{cls.__name__} example>", "exec")
        exec(code, _example_namespace())
