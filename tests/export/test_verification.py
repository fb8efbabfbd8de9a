import numpy as np
import pytest

from tfcompress.export.verification import ParityError, check_parity, compare_outputs


def test_compare_outputs_reports_the_keras_margin_of_each_disagreement():
    keras = {"logits": np.array([[2.0, 0.0], [0.1, 0.0], [0.0, 0.5], [3.0, 1.0]])}
    tflite = {"logits": np.array([[2.0, 0.1], [0.0, 0.2], [0.6, 0.5], [2.9, 1.0]])}
    report = compare_outputs(keras, tflite)
    assert report["argmax_agreement"]["logits"] == 0.5
    assert report["flip_margins"]["logits"] == pytest.approx([0.1, 0.5])
    assert report["median_margin"]["logits"] == pytest.approx(1.25)
    assert report["max_abs_diff"]["logits"] == pytest.approx(0.6)


def test_per_token_outputs_are_compared_position_by_position():
    keras = {"tags": np.zeros((2, 3, 4))}
    keras["tags"][..., 1] = 1.0
    tflite = {"tags": keras["tags"].copy()}
    tflite["tags"][0, 2, 3] = 2.0
    report = compare_outputs(keras, tflite)
    assert report["argmax_agreement"]["tags"] == pytest.approx(5 / 6)
    assert report["flip_margins"]["tags"] == [1.0]
    # What a model writes at padding is never used: the mask leaves it out.
    masked = compare_outputs(keras, tflite, mask=np.array([[1, 1, 0], [1, 1, 1]]))
    assert masked["argmax_agreement"]["tags"] == 1.0
    assert masked["max_abs_diff"]["tags"] == 0.0


def test_shape_mismatch_and_failed_tolerances_raise_with_numbers():
    with pytest.raises(ParityError, match=r"TFLite shape \(2, 3\) != Keras shape \(2, 2\)"):
        compare_outputs({"logits": np.zeros((2, 2))}, {"logits": np.zeros((2, 3))})
    report = {"argmax_agreement": {"logits": 0.9}, "max_abs_diff": {"logits": float("nan")}}
    with pytest.raises(ParityError, match=r"0\.9000 < 0\.95.*max abs diff nan > 0\.1"):
        check_parity(report, 0.95, 0.1)
