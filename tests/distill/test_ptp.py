import numpy as np
import pytest

from tfcompress.distill.ptp import ptp_labels
from tfcompress.errors import ConfigError

# softmax maxima: 0.98 (class 0), 0.62 (class 1), 0.5 (tie → class 0), 0.88 (class 1)
LOGITS = np.array([[4.0, 0.0], [0.0, 0.5], [1.0, 1.0], [0.0, 2.0]])
LABELS = np.array([0, 0, 0, 1])


def test_four_classes_by_hand():
    # correct: T F T T ; confident (≥ 0.8): T F F T
    np.testing.assert_array_equal(ptp_labels(LOGITS, LABELS, 0.8), [3, 0, 2, 3])


def test_ptp1_and_ptp2():
    np.testing.assert_array_equal(ptp_labels(LOGITS, LABELS, 0.8, "ptp1"), [1, 0, 1, 1])
    np.testing.assert_array_equal(ptp_labels(LOGITS, LABELS, 0.6, "ptp2"), [1, 1, 0, 1])


def test_threshold_and_variant_checked():
    with pytest.raises(ConfigError, match="threshold"):
        ptp_labels(LOGITS, LABELS, 0.3)
    with pytest.raises(ConfigError, match="variant"):
        ptp_labels(LOGITS, LABELS, 0.8, "ptp3")
