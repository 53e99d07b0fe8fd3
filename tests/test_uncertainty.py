"""Confidence intervals by bootstrap over test items: checked against independent computations (scipy's bootstrap;
scikit-learn and seqeval recomputing each resample), seeded, and bracketing the point estimates."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats
from seqeval.metrics import f1_score as seqeval_f1
from seqeval.metrics import precision_score as seqeval_precision
from sklearn.metrics import f1_score as sklearn_f1

from bertft_utils.evaluation.metrics import classification_scores, entity_metrics
from bertft_utils.evaluation.uncertainty import Bootstrap, classification_intervals, entity_counts, entity_intervals


def same_draws(items: int, bootstrap: Bootstrap) -> np.ndarray:
    """The resampled item indices the module draws (one block): to recompute each resample independently."""
    return np.random.default_rng(bootstrap.seed).integers(0, items, size=(bootstrap.resamples, items))


def percentile_interval(values) -> tuple[float, float]:
    return tuple(np.percentile(values, [2.5, 97.5]))


def test_accuracy_interval_agrees_with_scipy_bootstrap():
    correct = np.random.default_rng(0).random(600) < 0.8
    gold = np.zeros(600, dtype=int)
    probabilities = np.where(correct[:, None], [[0.9, 0.1]], [[0.1, 0.9]])
    ours = classification_intervals(gold, probabilities, None, (), Bootstrap(4000, 1))
    theirs = stats.bootstrap((correct.astype(float),), np.mean, n_resamples=4000, method="percentile",
                             random_state=7).confidence_interval
    assert ours["accuracy_ci_low"] == pytest.approx(theirs.low, abs=0.006)
    assert ours["accuracy_ci_high"] == pytest.approx(theirs.high, abs=0.006)
    assert ours["accuracy_ci_high"] - ours["accuracy_ci_low"] == pytest.approx(2 * 1.96 * (0.8 * 0.2 / 600) ** 0.5,
                                                                               rel=0.15)


def test_binary_and_macro_f1_intervals_equal_scikit_learn_on_each_resample():
    rng = np.random.default_rng(3)
    gold = rng.integers(0, 3, 150)
    gold[:5] = -1  # gold labels never seen in training: errors, and one more label in the macro average
    probabilities = rng.dirichlet([1, 1, 1], 150)
    probabilities[np.arange(150) % 2 == 0, np.clip(gold, 0, 2)[np.arange(150) % 2 == 0]] += 1  # better than chance
    bootstrap = Bootstrap(300, 5)
    predicted = probabilities.argmax(axis=1)
    present = sorted(set(gold) | set(predicted))
    draws = same_draws(150, bootstrap)
    macro = [sklearn_f1(gold[d], predicted[d], labels=present, average="macro", zero_division=0) for d in draws]
    binary = [sklearn_f1(gold[d], predicted[d], labels=[1], average=None, zero_division=0)[0] for d in draws]
    ours = classification_intervals(gold, probabilities, 1, (2,), bootstrap)
    assert (ours["macro_f1_ci_low"], ours["macro_f1_ci_high"]) == pytest.approx(percentile_interval(macro))
    assert (ours["f1_ci_low"], ours["f1_ci_high"]) == pytest.approx(percentile_interval(binary))
    top2 = [np.mean([g in np.argsort(-probabilities[i])[:2] for i, g in zip(d, gold[d], strict=True)]) for d in draws]
    assert (ours["top2_accuracy_ci_low"], ours["top2_accuracy_ci_high"]) == pytest.approx(percentile_interval(top2))


def random_tags(rng, sentences: int) -> list[list[str]]:
    tags = ["O", "O", "O", "B-PER", "I-PER", "B-LOC", "I-LOC", "I-ORG", "B-ORG"]
    return [[tags[i] for i in rng.integers(0, len(tags), rng.integers(1, 12))] for _ in range(sentences)]


@pytest.mark.parametrize("strict", [None, "IOB2"])
def test_entity_intervals_equal_seqeval_recomputed_on_each_resample(strict):
    rng = np.random.default_rng(11)
    gold = random_tags(rng, 80)
    predicted = [[tag if rng.random() < 0.7 else "O" for tag in sentence] for sentence in gold]
    bootstrap = Bootstrap(200, 9)
    mode = {"mode": "strict", "scheme": __import__("seqeval.scheme", fromlist=["IOB2"]).IOB2} if strict else {}
    resampled = [([gold[i] for i in d], [predicted[i] for i in d]) for d in same_draws(80, bootstrap)]
    micro = [seqeval_f1(g, p, zero_division=0, **mode) for g, p in resampled]
    precision = [seqeval_precision(g, p, zero_division=0, **mode) for g, p in resampled]
    ours = entity_intervals(gold, predicted, strict, bootstrap)
    assert (ours["f1_ci_low"], ours["f1_ci_high"]) == pytest.approx(percentile_interval(micro))
    assert (ours["precision_ci_low"], ours["precision_ci_high"]) == pytest.approx(percentile_interval(precision))
    # the counts behind them give seqeval's own point estimates
    types, counts = entity_counts(gold, predicted, strict)
    metrics = entity_metrics(gold, predicted, strict)
    tp, n_predicted, n_gold = counts.sum(axis=0).reshape(3, len(types))
    assert 2 * tp.sum() / (n_predicted.sum() + n_gold.sum()) == pytest.approx(metrics["f1"])
    assert (tp.sum() / n_predicted.sum(), tp.sum() / n_gold.sum()) == pytest.approx((metrics["precision"],
                                                                                    metrics["recall"]))
    per_type = 2 * tp / (n_predicted + n_gold)
    assert per_type == pytest.approx([metrics["per_type"][name]["f1-score"] for name in types])
    assert per_type.mean() == pytest.approx(metrics["macro_f1"])


def test_intervals_are_seeded_and_bracket_the_scores():
    rng = np.random.default_rng(2)
    labels = ["a", "b"]
    gold = [labels[i] for i in rng.integers(0, 2, 300)]
    probabilities = rng.dirichlet([1, 1], 300)
    first = classification_scores(gold, probabilities, labels, positive=("b", "given"), bootstrap=Bootstrap(500, 3))
    again = classification_scores(gold, probabilities, labels, positive=("b", "given"), bootstrap=Bootstrap(500, 3))
    other = classification_scores(gold, probabilities, labels, positive=("b", "given"), bootstrap=Bootstrap(500, 4))
    keys = [k for k in first if k.endswith(("_ci_low", "_ci_high"))]
    assert len(keys) == 10 and {k: first[k] for k in keys} == {k: again[k] for k in keys}
    assert any(first[k] != other[k] for k in keys)
    for metric in ("accuracy", "precision", "recall", "f1", "macro_f1"):
        assert first[f"{metric}_ci_low"] <= first[metric] <= first[f"{metric}_ci_high"]
    assert "accuracy_ci_low" not in classification_scores(gold, probabilities, labels, bootstrap=Bootstrap(0, 3))


def test_regression_intervals_equal_scipy_on_the_same_resamples():
    from scipy import stats

    from bertft_utils.evaluation.uncertainty import Bootstrap, interval, multiplicities, regression_intervals

    rng = np.random.default_rng(5)
    gold = np.round(rng.uniform(0, 5, 60), 1)  # rounded: equal values, ranks shared
    predicted = np.round(gold + rng.normal(0, 1, 60), 1)
    bootstrap = Bootstrap(200, 3)
    independent = {name: [] for name in ("mse", "mae", "pearson", "spearman")}
    for weights in multiplicities(60, bootstrap):  # the same draws, as repeated items
        for row in weights:
            index = np.repeat(np.arange(60), row.astype(int))
            g, p = gold[index], predicted[index]
            independent["mse"].append(np.mean((p - g) ** 2))
            independent["mae"].append(np.mean(np.abs(p - g)))
            independent["pearson"].append(stats.pearsonr(g, p)[0])
            independent["spearman"].append(stats.spearmanr(g, p)[0])
    ours = regression_intervals(gold, predicted, bootstrap)
    for name, values in independent.items():
        low, high = interval(np.array(values))
        assert (ours[f"{name}_ci_low"], ours[f"{name}_ci_high"]) == pytest.approx((low, high), abs=1e-9), name
