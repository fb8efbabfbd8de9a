"""Keras layers: embeddings, attention, transformer block, heads, quantizers."""

from tfcompress.layers.activations import SUPPORTED_ACTIVATIONS, get_activation
from tfcompress.layers.bert_embeddings import BertEmbeddings
from tfcompress.layers.classification_head import ClassificationHead
from tfcompress.layers.fake_quantizer import FakeQuantizer
from tfcompress.layers.joint_intent_slot_head import JointIntentSlotHead
from tfcompress.layers.layer_norm import LayerNorm
from tfcompress.layers.lsq_quantizer import LsqQuantizer
from tfcompress.layers.masked_lm_head import MaskedLMHead
from tfcompress.layers.multi_head_self_attention import MultiHeadSelfAttention
from tfcompress.layers.quantized_dense import QuantizedDense
from tfcompress.layers.quantizer import Quantizer  # noqa: F401  deprecated name, still loads
from tfcompress.layers.token_tagging_head import TokenTaggingHead
from tfcompress.layers.transformer_block import TransformerBlock
from tfcompress.layers.uniform_quantizer import UniformQuantizer

__all__ = [
    "SUPPORTED_ACTIVATIONS",
    "BertEmbeddings",
    "ClassificationHead",
    "JointIntentSlotHead",
    "LayerNorm",
    "LsqQuantizer",
    "MaskedLMHead",
    "MultiHeadSelfAttention",
    "QuantizedDense",
    "FakeQuantizer",
    "TokenTaggingHead",
    "TransformerBlock",
    "UniformQuantizer",
    "get_activation",
]
