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
from bertft_utils.evaluation.uncertainty import (
    Bootstrap,
    bootstrap_values,
    classification_intervals,
    classification_statistics,
    entity_counts,
    entity_intervals,
    entity_statistics,
    interval,
)


def same_draws(items: int, bootstrap: Bootstrap) -> np.ndarray:
    """The resampled item indices the module draws (one block): to recompute each resample independently."""
    return np.random.default_rng(bootstrap.seed).integers(0, items, size=(bootstrap.resamples, items))


def test_a_share_of_items_gets_wilsons_interval_which_holds_near_one():
    """Top-3 accuracy 98.4% on 100 items is often 100/100: a bootstrap then says [1, 1] and misses the truth."""
    gold = np.zeros(100, dtype=int)
    probabilities = np.tile([[0.9, 0.1]], (100, 1))
    ours = classification_intervals(gold, probabilities, None, (1,), Bootstrap(500, 1))
    wilson = stats.binomtest(100, 100).proportion_ci(0.95, method="wilson")
    assert (ours["accuracy_ci_low"], ours["accuracy_ci_high"]) == pytest.approx((wilson.low, wilson.high))
    assert ours["top1_accuracy_ci_low"] == pytest.approx(wilson.low) and wilson.low < 0.97


def test_accuracy_interval_agrees_with_scipy_bca_bootstrap():
    correct = np.random.default_rng(0).random(600) < 0.8
    gold = np.zeros(600, dtype=int)
    probabilities = np.where(correct[:, None], [[0.9, 0.1]], [[0.1, 0.9]])
    ours = classification_intervals(gold, probabilities, None, (), Bootstrap(4000, 1))
    theirs = stats.bootstrap((correct.astype(float),), np.mean, n_resamples=4000, method="BCa",
                             random_state=7).confidence_interval
    assert ours["accuracy_ci_low"] == pytest.approx(theirs.low, abs=0.006)
    assert ours["accuracy_ci_high"] == pytest.approx(theirs.high, abs=0.006)
    assert ours["accuracy_ci_high"] - ours["accuracy_ci_low"] == pytest.approx(2 * 1.96 * (0.8 * 0.2 / 600) ** 0.5,
                                                                               rel=0.15)


def test_bca_interval_of_a_skewed_statistic_agrees_with_scipy():
    """The bias correction and acceleration, on a statistic whose resamples are skewed (a variance of exponential
    data), against scipy's BCa with many resamples each."""
    data = np.random.default_rng(4).exponential(size=80)
    draws = np.random.default_rng(1).integers(0, 80, size=(20000, 80))
    jackknife = np.array([np.var(np.delete(data, i)) for i in range(80)])
    ours = interval(np.var(data[draws], axis=1), float(np.var(data)), jackknife)
    theirs = stats.bootstrap((data,), np.var, n_resamples=20000, method="BCa", random_state=2).confidence_interval
    assert ours == pytest.approx((theirs.low, theirs.high), rel=0.03)
    percentile = interval(np.var(data[draws], axis=1))
    assert abs(percentile[1] - theirs.high) > 3 * abs(ours[1] - theirs.high)  # BCa, not the percentile interval


def test_binary_and_macro_f1_of_each_resample_are_scikit_learn_on_that_resample():
    """Each resample is scored as the point estimate is: its macro over the labels present in that resample."""
    rng = np.random.default_rng(3)
    gold = rng.integers(0, 8, 150)
    gold[:5] = -1  # gold labels never seen in training: errors, and one more label in the macro average
    gold[5] = 8  # a label with one test item: absent from about a third of the resamples
    probabilities = rng.dirichlet([1] * 9, 150)
    probabilities[np.arange(150) % 2 == 0, np.clip(gold, 0, 8)[np.arange(150) % 2 == 0]] += 1  # better than chance
    bootstrap = Bootstrap(300, 5)
    predicted = probabilities.argmax(axis=1)
    draws = same_draws(150, bootstrap)

    def macro(g, p):
        return sklearn_f1(g, p, labels=sorted(set(g) | set(p)), average="macro", zero_division=0)

    expected = {"macro_f1": [macro(gold[d], predicted[d]) for d in draws],
                "f1": [sklearn_f1(gold[d], predicted[d], labels=[1], average=None, zero_division=0)[0]
                       for d in draws],
                "top2_accuracy": [np.mean([g in np.argsort(-probabilities[i])[:2] for i, g in zip(d, gold[d],
                                                                                             strict=True)])
                                  for d in draws]}
    values = bootstrap_values(*classification_statistics(gold, probabilities, 1, (2,)), bootstrap)
    for name, resampled in expected.items():
        assert values[name][1] == pytest.approx(resampled), name
    assert values["macro_f1"][0] == pytest.approx(macro(gold, predicted))
    left_out = [macro(np.delete(gold, i), np.delete(predicted, i)) for i in range(150)]
    assert values["macro_f1"][2] == pytest.approx(left_out)  # the jackknife, item by item
    ours = classification_intervals(gold, probabilities, 1, (2,), bootstrap)
    assert (ours["macro_f1_ci_low"], ours["macro_f1_ci_high"]) == pytest.approx(
        interval(np.array(expected["macro_f1"]), macro(gold, predicted), np.array(left_out)))


def test_macro_interval_with_many_rare_labels_holds_its_point_estimate():
    """149 labels, many with one test item, a predictor 94.6% right (Taipei QA's shape): a label absent from a
    resample once counted as F1 0 there, and the interval fell below the score it was for."""
    rng = np.random.default_rng(8)
    frequencies = np.geomspace(221, 10, 149)
    gold = rng.choice(149, size=798, p=frequencies / frequencies.sum())
    predicted = np.where(rng.random(798) < 0.946, gold, rng.integers(0, 149, 798))
    probabilities = np.eye(149)[predicted]
    metrics = classification_scores([str(g) for g in gold], probabilities, [str(i) for i in range(149)],
                                    bootstrap=Bootstrap(1000, 42))
    assert metrics["macro_f1_ci_low"] <= metrics["macro_f1"] <= metrics["macro_f1_ci_high"]
    assert metrics["macro_precision"] <= 1 and metrics["precision_ci_low"] <= metrics["precision"]
    from bertft_utils.evaluation.uncertainty import interval_note

    note = interval_note(metrics, {"macro_f1": "macro F1"})  # the report says what such an interval is worth
    assert f"{metrics['labels_with_few_test_items']} of the {metrics['macro_labels']} labels have fewer than 5 test " \
        "items" in note[-1] and metrics["labels_with_few_test_items"] > 20


def random_tags(rng, sentences: int) -> list[list[str]]:
    tags = ["O", "O", "O", "B-PER", "I-PER", "B-LOC", "I-LOC", "I-ORG", "B-ORG"]
    return [[tags[i] for i in rng.integers(0, len(tags), rng.integers(1, 12))] for _ in range(sentences)]


@pytest.mark.parametrize("strict", [None, "IOB2"])
def test_entity_scores_of_each_resample_are_seqeval_on_that_resample(strict):
    from seqeval.metrics import classification_report

    rng = np.random.default_rng(11)
    gold = random_tags(rng, 80)
    gold[0] = ["B-MISC", "I-MISC", "O"]  # a type in one sentence: absent from about a third of the resamples
    predicted = [[tag if rng.random() < 0.7 else "O" for tag in sentence] for sentence in gold]
    bootstrap = Bootstrap(200, 9)
    mode = {"mode": "strict", "scheme": __import__("seqeval.scheme", fromlist=["IOB2"]).IOB2} if strict else {}
    resampled = [([gold[i] for i in d], [predicted[i] for i in d]) for d in same_draws(80, bootstrap)]
    reports = [classification_report(g, p, zero_division=0, output_dict=True, **mode) for g, p in resampled]
    types, counts = entity_counts(gold, predicted, strict)
    values = bootstrap_values(counts, entity_statistics(types), bootstrap)
    assert values["f1"][1] == pytest.approx([seqeval_f1(g, p, zero_division=0, **mode) for g, p in resampled])
    assert values["precision"][1] == pytest.approx([seqeval_precision(g, p, zero_division=0, **mode)
                                                    for g, p in resampled])
    assert values["macro_f1"][1] == pytest.approx([report["macro avg"]["f1-score"] for report in reports])
    misc = values["MISC_f1"][1]
    assert np.isnan(misc).sum() == sum("MISC" not in report for report in reports) > 0  # undefined where absent
    assert misc[~np.isnan(misc)] == pytest.approx([report["MISC"]["f1-score"] for report in reports
                                                   if "MISC" in report])
    # the counts behind them give seqeval's own point estimates
    metrics = entity_metrics(gold, predicted, strict)
    tp, n_predicted, n_gold = counts.sum(axis=0).reshape(3, len(types))
    assert 2 * tp.sum() / (n_predicted.sum() + n_gold.sum()) == pytest.approx(metrics["f1"])
    assert (tp.sum() / n_predicted.sum(), tp.sum() / n_gold.sum()) == pytest.approx((metrics["precision"],
                                                                                    metrics["recall"]))
    per_type = 2 * tp / (n_predicted + n_gold)
    assert per_type == pytest.approx([metrics["per_type"][name]["f1-score"] for name in types])
    assert values["macro_f1"][0] == pytest.approx(metrics["macro_f1"])
    ours = entity_intervals(gold, predicted, strict, bootstrap)
    assert ours["macro_f1_ci_low"] <= metrics["macro_f1"] <= ours["macro_f1_ci_high"]


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

    from bertft_utils.evaluation.uncertainty import multiplicities, regression_intervals

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
    def scores(g, p):
        return {"mse": np.mean((p - g) ** 2), "mae": np.mean(np.abs(p - g)), "pearson": stats.pearsonr(g, p)[0],
                "spearman": stats.spearmanr(g, p)[0]}

    point = scores(gold, predicted)
    left_out = [scores(np.delete(gold, i), np.delete(predicted, i)) for i in range(60)]
    ours = regression_intervals(gold, predicted, bootstrap)
    for name, values in independent.items():
        low, high = interval(np.array(values), point[name], np.array([row[name] for row in left_out]))
        tolerance = 2e-3 if name == "spearman" else 1e-9  # its jackknife keeps the full sample's ranks (approximate)
        assert (ours[f"{name}_ci_low"], ours[f"{name}_ci_high"]) == pytest.approx((low, high), abs=tolerance), name
