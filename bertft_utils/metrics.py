"""Metrics computed with scikit-learn and seqeval directly (`evaluate.load` needs the Hub)."""

from __future__ import annotations

import numpy as np
from sklearn.metrics import accuracy_score, confusion_matrix, precision_recall_fscore_support


def softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=-1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=-1, keepdims=True)


def classification_metrics(gold: list[int], predicted: list[int], label_list: list[str]) -> dict:
    """Accuracy, precision/recall/F1 and the confusion matrix.

    Two classes: `precision/recall/f1` are binary for the second label in sorted order (e.g. 1 = sarcastic);
    more classes: they are macro averages. `macro_*` and `weighted_*` are always reported.
    """
    label_ids = list(range(len(label_list)))
    metrics = {"accuracy": float(accuracy_score(gold, predicted))}
    for average in ("macro", "weighted"):
        p, r, f, _ = precision_recall_fscore_support(
            gold, predicted, labels=label_ids, average=average, zero_division=0
        )
        metrics.update({f"{average}_precision": float(p), f"{average}_recall": float(r), f"{average}_f1": float(f)})
    if len(label_list) == 2:
        p, r, f, _ = precision_recall_fscore_support(gold, predicted, pos_label=1, average="binary", zero_division=0)
        metrics.update({"precision": float(p), "recall": float(r), "f1": float(f),
                        "positive_label": label_list[1]})
    else:
        metrics.update({"precision": metrics["macro_precision"], "recall": metrics["macro_recall"],
                        "f1": metrics["macro_f1"]})
    metrics["confusion_matrix"] = confusion_matrix(gold, predicted, labels=label_ids).tolist()
    return metrics


def top_k_accuracy(gold: np.ndarray, scores: np.ndarray, k: int) -> float:
    """Fraction of examples whose gold label is among the k highest scores."""
    k = min(k, scores.shape[-1])
    top = np.argsort(-scores, axis=-1)[:, :k]
    return float(np.mean([g in row for g, row in zip(gold, top)]))


def scalar_metrics(metrics: dict, prefix: str) -> dict:
    """Numbers only, with the split prefix, as the Trainer logs and `save_metrics` expects."""
    return {f"{prefix}_{k}": v for k, v in metrics.items() if isinstance(v, int | float) and not isinstance(v, bool)}
