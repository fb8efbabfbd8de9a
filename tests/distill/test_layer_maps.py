import pytest

from tfcompress.distill import pkd_layer_map, resolve_layer_map
from tfcompress.errors import ConfigError


def test_pkd_maps_for_three_layer_student_of_six_layer_teacher():
    assert pkd_layer_map("skip", 3, 6) == [(1, 2), (2, 4)]
    assert pkd_layer_map("last", 3, 6) == [(1, 4), (2, 5)]
    assert pkd_layer_map("skip", 6, 12) == [(1, 2), (2, 4), (3, 6), (4, 8), (5, 10)]


def test_explicit_map_checked_against_depths():
    assert resolve_layer_map([[0, 0], [3, 6]], 3, 6) == [(0, 0), (3, 6)]
    with pytest.raises(ConfigError, match="teacher layer 7 does not exist"):
        resolve_layer_map([[1, 7]], 3, 6)
    with pytest.raises(ConfigError, match="more than the teacher"):
        pkd_layer_map("last", 9, 6)
    with pytest.raises(ConfigError, match="divisible"):
        pkd_layer_map("skip", 4, 6)
