"""A fast version of bench/calibration.py (results/calibration.md): the simulation that would have caught the macro
intervals that excluded their own estimate and the single-seed verdicts that named a winner between equal models."""

from __future__ import annotations

import numpy as np
import pytest

from bertft_utils.testing import calibration
from bertft_utils.testing.calibration import Comparison, comparison_case, rare_labels_case, rate_interval, simulate


def test_macro_intervals_over_many_rare_labels_cover_about_as_the_page_says(monkeypatch):
    """Taipei QA's shape at 400 test items. A label absent from a resample once counted as F1 0 there: the interval
    fell below the score it was for and covered the population value in no simulation. The page measures about
    80% at 100 and 1,000 items (the estimate's bias with labels seen once: docs/compare.md), 95% at 10,000."""
    monkeypatch.setattr(calibration, "RESAMPLES", 300)
    counts = simulate(rare_labels_case, 400, 150, [7, 400])
    assert rate_interval(counts["macro_f1"], 150)[1] >= 0.75
    assert rate_interval(counts["accuracy"], 150)[1] >= 0.93  # Wilson's interval of a share


def test_equal_models_are_not_told_apart_with_one_seed_or_three(monkeypatch):
    """Equal models whose seeds differ by about 1 point: with one run a side the verdict once named a winner about a
    quarter of the time; now it speaks only of the runs. With three seeds the verdict is about the models and
    wrong at most 5% of the time (the bound of 150 simulations)."""
    monkeypatch.setattr(calibration, "RESAMPLES", 200)
    one = simulate(comparison_case(Comparison((2.0, 2.0), 1, calibration.WIDE_SEED_SPREAD)), 400, 150, [8, 1])
    assert one["a model-level verdict 'X > Y'"] == 0 and one["a run-level verdict 'run X > run Y'"] > 0
    three = simulate(comparison_case(Comparison((2.0, 2.0), 3, calibration.WIDE_SEED_SPREAD)), 400, 150, [8, 3])
    assert rate_interval(three["a verdict against the truth"], 150)[0] <= 0.05


@pytest.mark.parametrize("truth", [0.0, 0.3])
def test_the_simulated_truth_is_the_population_value(truth):
    """The models' true accuracy (Gauss-Hermite over the items' difficulty) against a large Monte Carlo draw."""
    rng = np.random.default_rng(0)
    draws = 1 / (1 + np.exp(-(calibration.BASE_LOGIT + truth + rng.normal(scale=calibration.DIFFICULTY_SPREAD,
                                                                          size=2_000_000))))
    assert calibration.expected_accuracy(calibration.BASE_LOGIT + truth) == pytest.approx(draws.mean(), abs=1e-3)
