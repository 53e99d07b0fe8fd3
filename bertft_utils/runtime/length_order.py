"""Prediction in order of length (longest first: least padding, and the first batch is the one to measure), with
the results put back in dataset order. Used by the PyTorch and the ONNX Runtime prediction paths."""

from __future__ import annotations

import numpy as np


def longest_first(lengths) -> np.ndarray:
    """Indices of the examples, longest first; equal lengths keep their dataset order."""
    return np.argsort(-np.asarray(lengths), kind="stable")


def in_dataset_order(order: np.ndarray, predictions: np.ndarray) -> np.ndarray:
    """`predictions[i]` belongs to example `order[i]`: the same rows, back in dataset order."""
    restored = np.empty_like(predictions)
    restored[order] = predictions
    return restored
