"""--class_weights: the weights of the labels and the weighted loss the Trainer calls."""

from collections import Counter

import numpy as np
import pytest
import torch

from bertft_utils.errors import UsageError
from bertft_utils.training.losses import class_weights, weighted_cross_entropy


def test_balanced_weights_are_inverse_frequencies_and_given_ones_are_checked():
    counts = Counter({"a": 6, "b": 2, "c": 0})
    weights = class_weights("balanced", ["a", "b", "c"], counts)
    assert weights == pytest.approx({"a": 8 / (2 * 6), "b": 8 / (2 * 2), "c": 1.0})  # c: not in training
    assert class_weights('{"b": 3}', ["a", "b"], counts) == {"a": 1.0, "b": 3.0}
    with pytest.raises(UsageError, match=r"names labels the data does not have: \['z'\]"):
        class_weights('{"z": 3}', ["a", "b"], counts)
    with pytest.raises(UsageError, match="--class_weights must be 'balanced' or a JSON object"):
        class_weights('{"a": -1}', ["a", "b"], counts)


def test_the_weighted_loss_is_the_weighted_mean_of_the_examples_losses():
    logits = torch.tensor([[2.0, 0.0], [0.5, 1.5], [0.0, 0.0]])
    labels = torch.tensor([0, 1, -100])
    weights = [1.0, 4.0]
    log_p = logits.numpy() - np.log(np.exp(logits.numpy()).sum(axis=1, keepdims=True))
    losses = np.array([-log_p[0, 0], -log_p[1, 1]])
    expected = (1.0 * losses[0] + 4.0 * losses[1]) / (1.0 + 4.0)
    loss = weighted_cross_entropy(weights)
    assert loss({"logits": logits}, labels).item() == pytest.approx(expected, rel=1e-6)
    assert loss({"logits": logits}, labels, num_items_in_batch=2).item() == pytest.approx(
        (1.0 * losses[0] + 4.0 * losses[1]) / 2, rel=1e-6)


def test_class_weights_keep_the_label_smoothing_trainer_would_have_applied():
    """Trainer skips its label smoother when a loss function is given: --class_weights once dropped
    --label_smoothing_factor silently. With equal weights the loss is Trainer's own smoothed loss."""
    from transformers.trainer_pt_utils import LabelSmoother

    from bertft_utils.training.losses import weighted_binary_cross_entropy, with_label_smoothing

    logits = torch.tensor([[2.0, 0.0, -1.0], [0.5, 1.5, 0.2], [0.0, 0.0, 3.0], [1.0, 1.0, 1.0]])
    labels = torch.tensor([0, 1, 2, -100])
    smoothed = with_label_smoothing(weighted_cross_entropy([1.0, 1.0, 1.0]), 0.1)
    expected = LabelSmoother(epsilon=0.1)({"logits": logits}, labels)
    assert smoothed({"logits": logits}, labels).item() == pytest.approx(expected.item(), rel=1e-5)
    plain = weighted_cross_entropy([1.0, 1.0, 1.0])({"logits": logits}, labels).item()
    assert plain != pytest.approx(expected.item(), rel=1e-3)  # smoothing changes the loss
    assert with_label_smoothing(weighted_cross_entropy([1.0, 2.0, 3.0]), 0.0).label_smoothing == 0.0
    with pytest.raises(UsageError, match="cannot be combined with multi-label --class_weights"):
        with_label_smoothing(weighted_binary_cross_entropy([1.0, 2.0]), 0.1)
