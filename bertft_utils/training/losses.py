"""Class weights for the loss (`--class_weights`): the weights of the labels, and the weighted cross-entropy
(multi-label: binary cross-entropy with a positive weight per label) the Trainer calls (its `compute_loss_func`)."""

from __future__ import annotations

import logging
from collections import Counter

import numpy as np
import torch
from sklearn.utils.class_weight import compute_class_weight

from bertft_utils.config.option_values import parse_class_weights
from bertft_utils.errors import UsageError

logger = logging.getLogger(__name__)


def given_weights(given: dict, label_list: list[str]) -> dict[str, float]:
    """--class_weights as a JSON object {label: weight}: every label's weight (1.0 when left out); a label the data
    does not have is an error."""
    unknown = sorted(set(given) - set(label_list))
    if unknown:
        raise UsageError(f"--class_weights names labels the data does not have: {unknown}; labels: {label_list}.")
    return {label: float(given.get(label, 1.0)) for label in label_list}


def class_weights(spec: str, label_list: list[str], train_counts: Counter | None) -> dict[str, float]:
    """Each label's weight: 'balanced' (scikit-learn's n_samples / (n_classes * count) over the training split; a
    label without training examples keeps 1.0) or a JSON object {label: weight} (text or file; labels left out
    weigh 1.0)."""
    given = parse_class_weights(spec)
    if given == "balanced":
        if not train_counts:
            raise UsageError("--class_weights balanced needs a training split to count the labels in.")
        seen = [label for label in label_list if train_counts.get(label)]
        labels = np.array([label for label, count in train_counts.items() for _ in range(count) if label in seen])
        computed = compute_class_weight("balanced", classes=np.array(seen), y=labels)
        weights = {label: 1.0 for label in label_list} | dict(zip(seen, map(float, computed), strict=True))
    else:
        weights = given_weights(given, label_list)
    logger.info("Class weights in the loss: %s.", {label: round(w, 4) for label, w in weights.items()})
    return weights


class WeightedCrossEntropy:
    """The Trainer's `compute_loss_func`: cross-entropy with these per-class weights (-100 labels ignored) and
    `label_smoothing` (Trainer skips its own label smoother when a loss function is given, so it is applied here, as
    torch's cross_entropy does: the target mixed with the uniform distribution); summed and divided by the batch's
    item count when the Trainer gives it (gradient accumulation), else the weighted mean."""

    def __init__(self, weights: list[float], label_smoothing: float = 0.0):
        self.weight = torch.tensor(weights, dtype=torch.float32)
        self.label_smoothing = label_smoothing

    def with_label_smoothing(self, factor: float) -> WeightedCrossEntropy:
        return WeightedCrossEntropy(self.weight.tolist(), factor)

    def __call__(self, outputs, labels: torch.Tensor, num_items_in_batch=None) -> torch.Tensor:
        logits = outputs["logits"] if isinstance(outputs, dict) else outputs[0]
        flat = logits.reshape(-1, logits.shape[-1]).float()
        options = {"weight": self.weight.to(flat.device), "label_smoothing": self.label_smoothing}
        if num_items_in_batch is None:
            return torch.nn.functional.cross_entropy(flat, labels.reshape(-1), **options)
        total = torch.nn.functional.cross_entropy(flat, labels.reshape(-1), reduction="sum", **options)
        return total / num_items_in_batch


def weighted_cross_entropy(weights: list[float]) -> WeightedCrossEntropy:
    return WeightedCrossEntropy(weights)


def label_pos_weights(spec: str, label_list: list[str], train_counts: Counter | None,
                      train_records: int) -> dict[str, float]:
    """Multi-label `pos_weight` of each label (PyTorch's BCEWithLogitsLoss): 'balanced' gives a label its negatives
    over its positives in the training split (a label without training positives keeps 1.0), or a JSON object
    {label: weight} (text or file; labels left out weigh 1.0)."""
    given = parse_class_weights(spec)
    if given == "balanced":
        if not train_counts:
            raise UsageError("--class_weights balanced needs a training split to count the labels in.")
        weights = {label: (train_records - train_counts[label]) / train_counts[label] if train_counts.get(label)
                   else 1.0 for label in label_list}
    else:
        weights = given_weights(given, label_list)
    logger.info("Positive weights per label in the loss: %s.", {label: round(w, 4) for label, w in weights.items()})
    return weights


def with_label_smoothing(loss, factor: float):
    """The Trainer's `compute_loss_func` with --label_smoothing_factor applied (Trainer's own smoother does not run
    when a loss function is given): refused for a loss that cannot smooth its targets."""
    if not factor:
        return loss
    if not hasattr(loss, "with_label_smoothing"):
        raise UsageError(f"--label_smoothing_factor {factor:g} cannot be combined with multi-label --class_weights "
                         "(binary cross-entropy per label): leave one of them out.")
    return loss.with_label_smoothing(factor)


def weighted_binary_cross_entropy(pos_weights: list[float]):
    """The Trainer's `compute_loss_func` for multi-label training: binary cross-entropy with logits, each label's
    positives weighted by its `pos_weight`; the mean over records and labels, as the model's own loss."""
    weight = torch.tensor(pos_weights, dtype=torch.float32)

    def loss(outputs, labels: torch.Tensor, num_items_in_batch=None) -> torch.Tensor:
        logits = outputs["logits"] if isinstance(outputs, dict) else outputs[0]
        return torch.nn.functional.binary_cross_entropy_with_logits(
            logits.float(), labels.to(logits.device).float(), pos_weight=weight.to(logits.device))

    return loss
