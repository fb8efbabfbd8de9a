"""Row counts of the shared real data sets, when this checkout sits next to them."""

from pathlib import Path

import pytest

from tfcompress.data.glue import read_glue_tsv
from tfcompress.data.snips import read_intent_slot_dir

SHARED_DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"

pytestmark = pytest.mark.skipif(not SHARED_DATA.is_dir(), reason=f"{SHARED_DATA} not present")


def test_sst2_and_mrpc_parse_fully():
    dev = read_glue_tsv(SHARED_DATA / "sst2" / "dev.tsv", "sst2")
    assert (len(dev), dev.skipped, int(dev.labels.sum())) == (872, 0, 444)
    assert len(read_glue_tsv(SHARED_DATA / "sst2" / "train.tsv", "sst2")) == 67349
    assert len(read_glue_tsv(SHARED_DATA / "mrpc" / "train.tsv", "mrpc")) == 3668
    assert len(read_glue_tsv(SHARED_DATA / "mrpc" / "dev.tsv", "mrpc")) == 408


def test_snips_test_split():
    test = read_intent_slot_dir(SHARED_DATA / "snips" / "test")
    assert (len(test), test.skipped, len(test.intent_names())) == (700, 0, 7)
