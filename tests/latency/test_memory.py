"""RSS read from /proc/self/status around a block of work (Linux only)."""

import numpy as np
import pytest

from tfcompress.latency.memory import proc_status_mb, rss_window_fields, start_rss_window

pytestmark = pytest.mark.skipif(proc_status_mb("VmRSS") is None, reason="needs /proc")


def test_unknown_status_field_is_none():
    assert proc_status_mb("NoSuchField") is None


def test_rss_window_sees_an_allocation():
    window = start_rss_window()
    block = np.ones(64 * 2**20 // 8)  # 64 MB, written so every page is resident
    fields = rss_window_fields(window)
    assert block.sum() > 0
    assert fields["rss_delta_mb"] > 48
    assert fields["hwm_delta_mb"] >= fields["rss_delta_mb"]
    assert fields["peak_rss_mb"] > fields["rss_delta_mb"]
