"""Per-label decision thresholds of a multi-label classifier, tuned on validation data: for each label the
probability cut that gives the highest F1 (scikit-learn's precision_recall_curve), a label is predicted when its
probability reaches its threshold."""

from __future__ import annotations

import numpy as np
from sklearn.metrics import precision_recall_curve

DEFAULT_THRESHOLD = 0.5  # without validation data, and for a label with no positive validation record


def tune_thresholds(gold: np.ndarray, probabilities: np.ndarray, default: float = DEFAULT_THRESHOLD) -> np.ndarray:
    """Per label (columns of `gold`, 0/1, and `probabilities`), the threshold of maximal F1 on these records (the
    highest such threshold on a tie: fewer labels predicted); `default` for a label none of these records has."""
    thresholds = np.full(gold.shape[1], default, dtype=np.float64)
    for label in range(gold.shape[1]):
        truth = gold[:, label] > 0
        if not truth.any():
            continue
        precision, recall, cuts = precision_recall_curve(truth, probabilities[:, label])
        f1 = np.divide(2 * precision * recall, precision + recall, out=np.zeros_like(precision),
                       where=precision + recall > 0)[:-1]  # the last point (recall 0) has no threshold
        best = np.flatnonzero(f1 == f1.max())
        thresholds[label] = float(cuts[best[-1]])
    return thresholds


def apply_thresholds(probabilities: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    """The 0/1 predictions: a label is predicted when its probability reaches its threshold."""
    return (probabilities >= thresholds[None, :]).astype(np.int64)


CROSS_FIT_FOLDS = 2


def cross_fitted_predictions(gold: np.ndarray, probabilities: np.ndarray) -> np.ndarray:
    """0/1 predictions of every record at thresholds tuned on the other records: the records fall into
    CROSS_FIT_FOLDS folds (by position), each predicted at the thresholds of the others. Scoring these gives an
    honest validation score; thresholds tuned and scored on the same records make it optimistic (they fit its
    noise)."""
    folds = np.arange(len(gold)) % CROSS_FIT_FOLDS
    predicted = np.zeros(gold.shape, dtype=np.int64)
    for fold in range(CROSS_FIT_FOLDS):
        held = folds == fold
        if held.any() and (~held).any():
            predicted[held] = apply_thresholds(probabilities[held], tune_thresholds(gold[~held],
                                                                                    probabilities[~held]))
    return predicted
