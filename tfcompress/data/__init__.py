"""Data: WordPiece tokenization and vocabularies, task readers, tf.data pipelines, metrics."""

from tfcompress.data.bio_tag_decoder import BioTagDecoder
from tfcompress.data.datasets import (
    classification_dataset,
    epoch_seed,
    intent_slot_dataset,
    tagging_dataset,
)
from tfcompress.data.glue import GLUE_TASKS, read_glue_tsv
from tfcompress.data.glue_task import GlueTask
from tfcompress.data.metrics import (
    accuracy,
    classification_metrics,
    f1,
    matthews_corrcoef,
    slot_f1,
    slot_f1_by_type,
)
from tfcompress.data.mlm_examples import MaskingConfig, mlm_dataset
from tfcompress.data.segmented_corpus import SegmentedCorpus
from tfcompress.data.slot_phrase_fill import SlotPhraseFill
from tfcompress.data.slot_value_swap import SlotValueSwap
from tfcompress.data.snips import read_intent_slot_dir
from tfcompress.data.synthetic import (
    generate_intent_slot_data,
    synthetic_label_names,
    write_intent_slot_dir,
)
from tfcompress.data.task_data import IntentSlotData, TextClassificationData
from tfcompress.data.vocabulary import learn_wordpiece_vocabulary, read_vocabulary, write_vocabulary
from tfcompress.data.wordpiece_tokenizer import WordPieceTokenizer, word_level_predictions

__all__ = [
    "BioTagDecoder",
    "GLUE_TASKS",
    "GlueTask",
    "IntentSlotData",
    "MaskingConfig",
    "SegmentedCorpus",
    "SlotPhraseFill",
    "SlotValueSwap",
    "TextClassificationData",
    "WordPieceTokenizer",
    "accuracy",
    "classification_dataset",
    "classification_metrics",
    "epoch_seed",
    "f1",
    "generate_intent_slot_data",
    "intent_slot_dataset",
    "learn_wordpiece_vocabulary",
    "matthews_corrcoef",
    "mlm_dataset",
    "read_glue_tsv",
    "read_intent_slot_dir",
    "read_vocabulary",
    "slot_f1",
    "slot_f1_by_type",
    "synthetic_label_names",
    "tagging_dataset",
    "word_level_predictions",
    "write_intent_slot_dir",
    "write_vocabulary",
]
