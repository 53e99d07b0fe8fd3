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


@pytest.mark.parametrize("unseen", [-1, -100])
def test_binary_task_with_unseen_gold_labels_scores_them_as_errors(unseen):
    """--allow_unseen_labels on a two-class task: scikit-learn's average='binary' refused these."""
    gold = [0, 1, 1, unseen, unseen]
    pred = [0, 1, 0, 1, 0]
    m = classification_metrics(gold, pred, ["serious", "sarcastic"])
    assert m["accuracy"] == pytest.approx(2 / 5)  # unseen records are errors whatever was predicted
    assert m["precision"] == pytest.approx(1 / 2)  # predicted sarcastic: one right, one on an unseen record
    assert m["recall"] == pytest.approx(1 / 2) and m["unseen_label_records"] == 2
    assert m["confusion_matrix"] == [[1, 0], [1, 1]]  # the per-label view leaves them out, and says so
    from bertft_utils.reporting import format_classification_report

    assert "2 records have gold labels never seen in training" in format_classification_report(m)
