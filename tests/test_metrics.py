import numpy as np
import pytest

from bertft_utils.metrics import classification_metrics, top_k_accuracy


def test_binary_metrics_use_the_second_label_as_positive():
    gold = [0, 0, 1, 1, 1]
    pred = [0, 1, 1, 1, 0]
    m = classification_metrics(gold, pred, ["0", "1"])
    assert m["accuracy"] == pytest.approx(3 / 5)
    assert m["precision"] == pytest.approx(2 / 3) and m["recall"] == pytest.approx(2 / 3)
    assert m["macro_f1"] == pytest.approx((0.5 + 2 / 3) / 2)
    assert m["confusion_matrix"] == [[1, 1], [1, 2]]


def test_multiclass_metrics_are_macro_and_top_k():
    m = classification_metrics([0, 1, 2], [0, 1, 1], ["a", "b", "c"])
    assert m["f1"] == m["macro_f1"] == pytest.approx((1 + 2 / 3 + 0) / 3)
    scores = np.array([[0.1, 0.7, 0.2], [0.5, 0.3, 0.2]])
    assert top_k_accuracy(np.array([2, 1]), scores, 1) == 0.0
    assert top_k_accuracy(np.array([2, 1]), scores, 2) == 1.0
