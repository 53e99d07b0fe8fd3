"""95% confidence intervals of the test metrics, by bootstrap over test items: examples for classification,
sentences for NER (entity scores recomputed from the resampled sentences). Seeded: a rerun gives the same interval.

Every resample is scored by the statistic the point estimate defines: a macro average runs over the labels present
(in the gold or the predictions) of that resample, as scikit-learn's and seqeval's macro run over those of the split;
a per-type F1 is scored on the resamples where the type occurs. The interval is the bias-corrected and accelerated
(BCa) bootstrap interval (Efron 1987; scipy.stats.bootstrap's default method), its acceleration from a jackknife over
the items (over at most JACKKNIFE_GROUPS groups of items on large test sets); a share of independent items (accuracy,
top-k and subset accuracy) gets Wilson's score interval, which holds its level near 0 and 1. bench/calibration.py
measures how often each interval covers the population value (results/calibration.md).

Every metric we report is a ratio of sums of per-item counts (correct answers; true positives, predictions and gold
entities per label or type), so one resample is a vector of item multiplicities and all resamples of all metrics are
one matrix product; the jackknife's leave-one-out sums are the total less each item's row. scipy.stats.bootstrap
would call the statistic once per resample in Python: seconds per metric for seqeval's F1 on MSRA's test file.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
from scipy import stats

CONFIDENCE = 0.95
_CHUNK_CELLS = 4_000_000  # resamples x items per matrix (32 MB of float64): bounds memory on large test sets
FEW_TEST_ITEMS = 5  # a label with fewer gold test items: its F1 rests on a handful of cases (interval_note warns)
JACKKNIFE_GROUPS = 2_000  # leave-one-out up to this many items; beyond, leave-one-group-out (same acceleration)


@dataclass(frozen=True)
class Bootstrap:
    """How intervals are drawn: `resamples` (0: none) seeded with `seed`."""

    resamples: int = 1000
    seed: int = 42

    def facts(self, items: int, unit: str) -> dict:
        """What test_results.json records beside the intervals."""
        return {"ci_resamples": self.resamples, "ci_seed": self.seed, "ci_items": items, "ci_unit": unit,
                "ci_method": "BCa bootstrap"}


def resampled_sums(counts: np.ndarray, bootstrap: Bootstrap) -> np.ndarray:
    """Column sums of `counts` (items x columns) over `bootstrap.resamples` resamples of the items drawn with
    replacement: shape (resamples, columns)."""
    return np.concatenate([weights @ counts for weights in multiplicities(len(counts), bootstrap)])


def multiplicities(items: int, bootstrap: Bootstrap) -> Iterator[np.ndarray]:
    """How often each item is drawn in each resample, a block of resamples at a time."""
    rng = np.random.default_rng(bootstrap.seed)
    per_block = max(1, _CHUNK_CELLS // max(items, 1))
    for start in range(0, bootstrap.resamples, per_block):
        rows = min(per_block, bootstrap.resamples - start)
        drawn = rng.integers(0, items, size=(rows, items)) + items * np.arange(rows)[:, None]
        yield np.bincount(drawn.ravel(), minlength=rows * items).reshape(rows, items).astype(np.float64)


def jackknife_groups(items: int, seed: int) -> np.ndarray:
    """Each item's jackknife group: itself up to JACKKNIFE_GROUPS items, else one of that many seeded groups."""
    if items <= JACKKNIFE_GROUPS:
        return np.arange(items)
    return np.random.default_rng(seed).permutation(items) % JACKKNIFE_GROUPS


def left_out_sums(counts: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """Column sums of `counts` with each jackknife group left out in turn: shape (groups, columns)."""
    if not len(groups):
        return np.zeros((0, counts.shape[1]))
    order = np.argsort(groups, kind="stable")
    starts = np.searchsorted(groups[order], np.arange(int(groups.max()) + 1))
    per_group = np.add.reduceat(counts[order], starts, axis=0)  # every group holds an item (jackknife_groups)
    return counts.sum(axis=0, keepdims=True) - per_group


def interval(resampled: np.ndarray, point: float | None = None, jackknife: np.ndarray | None = None,
             confidence: float = CONFIDENCE) -> tuple[float, float]:
    """The BCa interval of a statistic from its resampled values, its value on the data (`point`) and its
    jackknife values (the acceleration); without `point`, the percentile interval. Resamples where the statistic is
    undefined (NaN) are left out; (nan, nan) when none is left."""
    resampled = np.asarray(resampled, dtype=np.float64)
    resampled = resampled[np.isfinite(resampled)]
    if not len(resampled):
        return float("nan"), float("nan")
    tail = (1 - confidence) / 2
    levels = np.array([tail, 1 - tail])
    if point is not None and np.isfinite(point) and np.ptp(resampled) > 0:
        below = (np.sum(resampled < point) + 0.5 * np.sum(resampled == point)) / len(resampled)
        bias = stats.norm.ppf(np.clip(below, 0.5 / len(resampled), 1 - 0.5 / len(resampled)))
        acceleration = 0.0
        if jackknife is not None:
            values = np.asarray(jackknife, dtype=np.float64)
            influence = np.nanmean(values) - values[np.isfinite(values)]
            spread = np.sum(influence**2)
            acceleration = float(np.sum(influence**3) / (6 * spread**1.5)) if spread > 0 else 0.0
        z = stats.norm.ppf(levels)
        levels = stats.norm.cdf(bias + (bias + z) / (1 - acceleration * (bias + z)))
    low, high = np.quantile(resampled, levels)
    return float(low), float(high)


def _ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """numerator / denominator, 0 where the denominator is 0 (scikit-learn's and seqeval's zero_division=0)."""
    return np.divide(numerator, denominator, out=np.zeros_like(numerator, dtype=np.float64),
                     where=denominator != 0)


def precision_recall_f1(tp: np.ndarray, predicted: np.ndarray,
                        gold: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Precision, recall and F1 from true positives, predictions and gold counts (any shape)."""
    return _ratio(tp, predicted), _ratio(tp, gold), _ratio(2 * tp, predicted + gold)


def label_counts(gold, predicted) -> tuple[list, np.ndarray]:
    """The labels present in the gold or the predictions, and per item its true positives, predictions and gold per
    label: items x (3 * labels), the columns [tp per label | predicted per label | gold per label]."""
    labels = sorted(set(np.asarray(gold).tolist()) | set(np.asarray(predicted).tolist()))
    gold_is = np.asarray(gold)[:, None] == np.asarray(labels)[None, :]
    predicted_is = np.asarray(predicted)[:, None] == np.asarray(labels)[None, :]
    return labels, np.hstack([gold_is & predicted_is, predicted_is, gold_is]).astype(np.float64)


def per_label_rates(sums: np.ndarray, labels: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Precision, recall and F1 per label (resamples x labels) from sums laid out as label_counts' columns."""
    return precision_recall_f1(*(sums[:, i * labels:(i + 1) * labels] for i in range(3)))


def present_labels(sums: np.ndarray, labels: int) -> np.ndarray:
    """Per row of sums (label_counts' layout), which labels occur in its gold or predictions."""
    return (sums[:, labels:2 * labels] + sums[:, 2 * labels:3 * labels]) > 0


def macro_rates(sums: np.ndarray, labels: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Macro precision, recall and F1 of each row of sums (label_counts' layout) over the labels present in that
    row's gold or predictions: what scikit-learn (`labels=` those present) and seqeval compute on that sample.
    NaN for a row where no label occurs."""
    present = present_labels(sums, labels)
    count = present.sum(axis=1)
    return tuple(np.divide((rate * present).sum(axis=1), count, out=np.full(len(sums), np.nan), where=count > 0)
                 for rate in per_label_rates(sums, labels))


def label_f1(sums: np.ndarray, labels: int, column: int) -> np.ndarray:
    """F1 of one label in each row of sums (label_counts' layout); NaN where the label does not occur (undefined on
    that sample)."""
    f1 = per_label_rates(sums, labels)[2][:, column]
    return np.where(present_labels(sums, labels)[:, column], f1, np.nan)


def pooled_rates(sums: np.ndarray, labels: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Micro precision, recall and F1 (counts pooled over the labels) from sums laid out as label_counts'."""
    return precision_recall_f1(*(sums[:, i * labels:(i + 1) * labels].sum(axis=1) for i in range(3)))


SumStatistic = Callable[[np.ndarray], np.ndarray]  # resampled sums (rows) -> the statistic of each row


def bootstrap_values(counts: np.ndarray, statistics: dict[str, SumStatistic],
                     bootstrap: Bootstrap) -> dict[str, tuple[float, np.ndarray, np.ndarray]]:
    """Per statistic of the column sums of `counts` (items x columns): its value on the data, on each resample of
    the items (the same resamples for every statistic) and with each jackknife group left out."""
    sums = resampled_sums(counts, bootstrap)
    total = counts.sum(axis=0, keepdims=True)
    left_out = left_out_sums(counts, jackknife_groups(len(counts), bootstrap.seed))
    return {name: (float(statistic(total)[0]), statistic(sums), statistic(left_out))
            for name, statistic in statistics.items()}


def sum_statistic_intervals(counts: np.ndarray, statistics: dict[str, SumStatistic], bootstrap: Bootstrap) -> dict:
    """`<name>_ci_low` / `<name>_ci_high` of each statistic of the column sums of `counts`: BCa intervals."""
    return _as_intervals(bootstrap_values(counts, statistics, bootstrap))


def proportion_interval(hits: float, items: int, confidence: float = CONFIDENCE) -> tuple[float, float]:
    """Wilson's score interval of a share of independent items (accuracy, top-k accuracy, subset accuracy): it holds
    its level where a bootstrap cannot, e.g. a sample right on every item gives [1, 1] by bootstrap."""
    interval = stats.binomtest(int(round(hits)), items).proportion_ci(confidence, method="wilson")
    return float(interval.low), float(interval.high)


def _with_proportions(intervals: dict, counts: np.ndarray, columns: dict[str, int]) -> dict:
    """`intervals` with those of the shares in `columns` (name -> column of per-item hits) by proportion_interval."""
    for name, column in columns.items():
        intervals[f"{name}_ci_low"], intervals[f"{name}_ci_high"] = proportion_interval(counts[:, column].sum(),
                                                                                        len(counts))
    return intervals


def classification_intervals(gold_ids: np.ndarray, probabilities: np.ndarray, positive: int | None,
                             top_k: tuple[int, ...], bootstrap: Bootstrap) -> dict:
    """`<metric>_ci_low` / `<metric>_ci_high` of classification_statistics: BCa bootstrap intervals, Wilson's for
    accuracy and top-k accuracy."""
    counts, statistics = classification_statistics(gold_ids, probabilities, positive, top_k)
    labels = (counts.shape[1] - 2 - len(top_k)) // 3
    return _with_proportions(sum_statistic_intervals(counts, statistics, bootstrap), counts, {
        "accuracy": 1, **{f"top{k}_accuracy": 2 + 3 * labels + i for i, k in enumerate(top_k)}})


def classification_statistics(gold_ids: np.ndarray, probabilities: np.ndarray, positive: int | None,
                              top_k: tuple[int, ...] = ()) -> tuple[np.ndarray, dict[str, SumStatistic]]:
    """Per-item counts and the statistics of their sums: accuracy, precision, recall, f1 (binary for class
    `positive`, else macro), macro_f1 and top-k accuracy, as classification_metrics defines them on a sample: macro
    over the labels present in the sample's gold or predictions; a gold label unseen in training (id < 0) is one
    more label, never predicted."""
    predicted = probabilities.argmax(axis=-1)
    present, per_label = label_counts(gold_ids, predicted)
    order = np.argsort(-probabilities, axis=-1)
    hits = [(order[:, :min(k, probabilities.shape[-1])] == gold_ids[:, None]).any(axis=1) for k in top_k]
    counts = np.column_stack([np.ones(len(gold_ids)), gold_ids == predicted, per_label, *hits]).astype(np.float64)
    labels = len(present)

    def rates(sums: np.ndarray) -> np.ndarray:
        return sums[:, 2:2 + 3 * labels]

    statistics: dict[str, SumStatistic] = {
        "accuracy": lambda sums: sums[:, 1] / sums[:, 0],
        "macro_f1": lambda sums: macro_rates(rates(sums), labels)[2]}
    if positive is not None:
        column = present.index(positive) if positive in present else None
        for i, name in enumerate(("precision", "recall", "f1")):
            statistics[name] = (lambda sums, i=i: per_label_rates(rates(sums), labels)[i][:, column]) \
                if column is not None else (lambda sums: np.zeros(len(sums)))
    else:
        for i, name in enumerate(("precision", "recall", "f1")):
            statistics[name] = lambda sums, i=i: macro_rates(rates(sums), labels)[i]
    for i, k in enumerate(top_k):
        statistics[f"top{k}_accuracy"] = lambda sums, i=i: sums[:, 2 + 3 * labels + i] / sums[:, 0]
    return counts, statistics


def multilabel_intervals(gold: np.ndarray, predicted: np.ndarray, bootstrap: Bootstrap) -> dict:
    """`<metric>_ci_low` / `<metric>_ci_high` of multilabel_statistics, the records resampled (Wilson's interval for
    subset accuracy)."""
    counts, statistics = multilabel_statistics(gold, predicted)
    return _with_proportions(sum_statistic_intervals(counts, statistics, bootstrap), counts,
                             {"accuracy": 1, "subset_accuracy": 1})


def multilabel_statistics(gold: np.ndarray, predicted: np.ndarray) -> tuple[np.ndarray, dict[str, SumStatistic]]:
    """Per-record counts of 0/1 label matrices and the statistics of their sums, as metrics.multilabel_scores
    defines them on a sample: subset accuracy (`accuracy`, `subset_accuracy`), Hamming loss, micro
    precision/recall/F1 (`precision/recall/f1`) and macro F1 over the label columns present in the sample's gold or
    predictions."""
    gold, predicted = gold.astype(bool), predicted.astype(bool)
    labels = gold.shape[1]
    counts = np.column_stack([np.ones(len(gold)), (gold == predicted).all(axis=1), (gold != predicted).sum(axis=1),
                              gold & predicted, predicted, gold]).astype(np.float64)

    def subset_accuracy(sums: np.ndarray) -> np.ndarray:
        return sums[:, 1] / sums[:, 0]

    return counts, {
        "accuracy": subset_accuracy, "subset_accuracy": subset_accuracy,
        "hamming_loss": lambda sums: sums[:, 2] / (sums[:, 0] * labels),
        "precision": lambda sums: pooled_rates(sums[:, 3:], labels)[0],
        "recall": lambda sums: pooled_rates(sums[:, 3:], labels)[1],
        "f1": lambda sums: pooled_rates(sums[:, 3:], labels)[2],
        "macro_f1": lambda sums: macro_rates(sums[:, 3:], labels)[2]}


def entity_counts(gold: list[list[str]], predicted: list[list[str]],
                  strict_scheme: str | None = None) -> tuple[list[str], np.ndarray]:
    """Entity types, and per sentence its true positives, predicted and gold entities per type, laid out as
    label_counts' columns (sentences x (3 * types)), extracted as seqeval extracts them (its default chunking, or
    strict mode for `strict_scheme`)."""
    if strict_scheme:
        from seqeval import scheme as seqeval_schemes

        def entities(sequences):
            found = seqeval_schemes.Entities(sequences, getattr(seqeval_schemes, strict_scheme)).entities
            return [{(e.tag, e.start, e.end) for e in sentence} for sentence in found]
    else:
        from seqeval.metrics.sequence_labeling import get_entities

        def entities(sequences):
            return [set(get_entities(list(sequence))) for sequence in sequences]

    gold_entities, predicted_entities = entities(gold), entities(predicted)
    types = sorted({entity[0] for found in (*gold_entities, *predicted_entities) for entity in found})
    index = {name: i for i, name in enumerate(types)}
    counts = np.zeros((len(gold), 3 * len(types)))
    for row, (gold_set, predicted_set) in enumerate(zip(gold_entities, predicted_entities, strict=True)):
        for block, found in enumerate((gold_set & predicted_set, predicted_set, gold_set)):
            for entity in found:
                counts[row, block * len(types) + index[entity[0]]] += 1
    return types, counts


def entity_intervals(gold: list[list[str]], predicted: list[list[str]], strict_scheme: str | None,
                     bootstrap: Bootstrap) -> dict:
    """`<metric>_ci_low` / `_ci_high` of entity_statistics, sentences resampled."""
    types, counts = entity_counts(gold, predicted, strict_scheme)
    return sum_statistic_intervals(counts, entity_statistics(types), bootstrap) if types else {}


def entity_statistics(types: list[str]) -> dict[str, SumStatistic]:
    """The statistics of entity_counts' sums: micro precision/recall/F1 (also under their plain names), macro F1
    (over the types present in the sample) and each type's F1 (`<TYPE>_f1`, undefined where the type does not
    occur)."""
    labels = len(types)
    statistics: dict[str, SumStatistic] = {}
    for i, name in enumerate(("precision", "recall", "f1")):
        statistics[f"micro_{name}"] = statistics[name] = lambda sums, i=i: pooled_rates(sums, labels)[i]
    statistics["macro_f1"] = lambda sums: macro_rates(sums, labels)[2]
    statistics.update({f"{name}_f1": lambda sums, i=i: label_f1(sums, labels, i) for i, name in enumerate(types)})
    return statistics


def _weighted_correlation(x: np.ndarray, y: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Pearson's r of x and y in each resample (rows of `weights`: how often each item was drawn; x and y are the
    same for every resample, or one row per resample)."""
    n = weights.sum(axis=1)

    def mean(values: np.ndarray) -> np.ndarray:
        return (weights * values).sum(axis=1) / n

    mean_x, mean_y = mean(x), mean(y)
    spread = np.sqrt(np.maximum(mean(x * x) - mean_x**2, 0) * np.maximum(mean(y * y) - mean_y**2, 0))
    return _ratio(mean(x * y) - mean_x * mean_y, spread)


def _resampled_ranks(values: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Each item's rank in each resample (its copies and equal values share their average rank, as scipy's
    `rankdata`), so that Spearman's rho of a resample is Pearson's r of these ranks under the same weights."""
    from scipy import sparse

    unique, group = np.unique(values, return_inverse=True)
    member = sparse.csr_matrix((np.ones(len(values)), (np.arange(len(values)), group)),
                               shape=(len(values), len(unique)))
    counts = np.asarray(sparse.csr_matrix(weights) @ member) if sparse.issparse(weights) else \
        np.asarray((member.T @ weights.T).T)  # draws per distinct value, per resample
    before = np.cumsum(counts, axis=1) - counts
    return (before + (counts + 1) / 2)[:, group]


def _regression_statistics(gold: np.ndarray, predicted: np.ndarray, weights: np.ndarray,
                           ranks: tuple[np.ndarray, np.ndarray] | None = None) -> dict[str, np.ndarray]:
    """mse, rmse, mae, pearson and spearman of each row of `weights` (how often each example counts); with `ranks`
    (the full sample's), Spearman's rho as Pearson's r of those ranks (the jackknife's approximation: leaving a
    few examples out barely moves the others' ranks)."""
    n = weights.sum(axis=1)
    error = predicted - gold
    mse = weights @ (error * error) / n
    gold_ranks, predicted_ranks = ranks if ranks is not None else (_resampled_ranks(gold, weights),
                                                                   _resampled_ranks(predicted, weights))
    return {"mse": mse, "rmse": np.sqrt(mse), "mae": weights @ np.abs(error) / n,
            "pearson": _weighted_correlation(gold, predicted, weights),
            "spearman": _weighted_correlation(gold_ranks, predicted_ranks, weights)}


def regression_intervals(gold: np.ndarray, predicted: np.ndarray, bootstrap: Bootstrap) -> dict:
    """`<metric>_ci_low` / `<metric>_ci_high` of mse, rmse, mae, pearson and spearman, the examples resampled."""
    def over(weight_blocks, ranks=None) -> dict[str, np.ndarray]:
        parts = [_regression_statistics(gold, predicted, weights, ranks) for weights in weight_blocks]
        return {name: np.concatenate([part[name] for part in parts]) for name in parts[0]}

    groups = jackknife_groups(len(gold), bootstrap.seed)
    group_count = int(groups.max()) + 1
    per_block = max(1, _CHUNK_CELLS // max(len(gold), 1))
    ranks = tuple(stats.rankdata(values) for values in (gold, predicted))
    left_out = over(((np.arange(start, min(start + per_block, group_count))[:, None] != groups[None, :])
                     .astype(float) for start in range(0, group_count, per_block)), ranks)
    point = over([np.ones((1, len(gold)))])
    resampled = over(multiplicities(len(gold), bootstrap))
    return _as_intervals({name: (point[name][0], resampled[name], left_out[name]) for name in resampled})


def _as_intervals(values: dict[str, tuple[float, np.ndarray, np.ndarray]]) -> dict:
    """`<name>_ci_low/_high` from (point, resampled values, jackknife values) per statistic; none for a statistic
    undefined on every resample."""
    out = {}
    for name, (point, resampled, jackknife) in values.items():
        low, high = interval(resampled, point, jackknife)
        if np.isfinite(low):
            out[f"{name}_ci_low"], out[f"{name}_ci_high"] = low, high
    return out


def interval_text(metrics: dict, names: dict[str, str]) -> str:
    """'accuracy 0.9299 (95% CI 0.9201-0.9392), F1 ...' for the `names` (metric key -> shown name) that have one."""
    shown = [f"{label} {metrics[key]:.4f} ({CONFIDENCE:.0%} CI {metrics[key + '_ci_low']:.4f}-"
             f"{metrics[key + '_ci_high']:.4f})" for key, label in names.items()
             if isinstance(metrics.get(key), float) and f"{key}_ci_low" in metrics]
    return ", ".join(shown)


def interval_note(metrics: dict, names: dict[str, str]) -> list[str]:
    """The report lines on the intervals: the values with their intervals, and how they were drawn."""
    if "ci_resamples" not in metrics:
        return []
    lines = [interval_text(metrics, names) + ".",
             f"(95% confidence intervals: {metrics.get('ci_method', 'percentile bootstrap')} over the "
             f"{metrics['ci_items']:,} test "
             f"{metrics['ci_unit']}, {metrics['ci_resamples']:,} resamples, seed {metrics['ci_seed']}.)"]
    few, labels = metrics.get("labels_with_few_test_items", 0), metrics.get("macro_labels", 0)
    if few >= 2 and few >= 0.1 * labels:
        lines.append(f"{few} of the {labels} labels have fewer than {FEW_TEST_ITEMS} test items: a macro score over "
                     "them is biased low against the population's and its interval too narrow "
                     "(results/calibration.md); it describes this split. Compare models on the same split "
                     "(python -m bertft_utils.compare).")
    return lines
