"""95% confidence intervals of the test metrics, by bootstrap over test items: examples for classification,
sentences for NER (entity scores recomputed from the resampled sentences). Seeded: a rerun gives the same interval.

Every metric we report is a ratio of sums of per-item counts (correct answers; true positives, predictions and gold
entities per label or type), so one resample is a vector of item multiplicities and all resamples of all metrics are
one matrix product. scipy.stats.bootstrap would call the statistic once per resample in Python; for the corpus-level
F1 of seqeval that is seconds per metric on MSRA's test file (tests/test_uncertainty.py checks our accuracy interval
against scipy.stats.bootstrap's).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

CONFIDENCE = 0.95
_CHUNK_CELLS = 4_000_000  # resamples x items per matrix (32 MB of float64): bounds memory on large test sets


@dataclass(frozen=True)
class Bootstrap:
    """How intervals are drawn: `resamples` (0: none) seeded with `seed`."""

    resamples: int = 1000
    seed: int = 42

    def facts(self, items: int, unit: str) -> dict:
        """What test_results.json records beside the intervals."""
        return {"ci_resamples": self.resamples, "ci_seed": self.seed, "ci_items": items, "ci_unit": unit}


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


def interval(values: np.ndarray) -> tuple[float, float]:
    """The percentile interval holding CONFIDENCE of the resampled values."""
    tail = (1 - CONFIDENCE) / 2 * 100
    low, high = np.percentile(values, [tail, 100 - tail])
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


def pooled_rates(sums: np.ndarray, labels: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Micro precision, recall and F1 (counts pooled over the labels) from sums laid out as label_counts'."""
    return precision_recall_f1(*(sums[:, i * labels:(i + 1) * labels].sum(axis=1) for i in range(3)))


def classification_intervals(gold_ids: np.ndarray, probabilities: np.ndarray, positive: int | None,
                             top_k: tuple[int, ...], bootstrap: Bootstrap) -> dict:
    """`<metric>_ci_low` / `<metric>_ci_high` of accuracy, precision, recall, f1 (binary for class `positive`,
    else macro), macro_f1 and top-k accuracy, as classification_metrics defines them: macro over the labels present
    in the gold or the predictions of the whole split; a gold label unseen in training (id < 0) is one more label,
    never predicted."""
    predicted = probabilities.argmax(axis=-1)
    present, per_label = label_counts(gold_ids, predicted)
    order = np.argsort(-probabilities, axis=-1)
    hits = [(order[:, :min(k, probabilities.shape[-1])] == gold_ids[:, None]).any(axis=1) for k in top_k]
    counts = np.column_stack([gold_ids == predicted, per_label, *hits]).astype(np.float64)
    sums = resampled_sums(counts, bootstrap)
    labels = len(present)
    precision, recall, f1 = per_label_rates(sums[:, 1:1 + 3 * labels], labels)
    items = len(gold_ids)
    values = {"accuracy": sums[:, 0] / items, "macro_f1": f1.mean(axis=1)}
    if positive is not None:
        column = present.index(positive) if positive in present else None
        zeros = np.zeros(len(sums))
        values.update(precision=precision[:, column] if column is not None else zeros,
                      recall=recall[:, column] if column is not None else zeros,
                      f1=f1[:, column] if column is not None else zeros)
    else:
        values.update(precision=precision.mean(axis=1), recall=recall.mean(axis=1), f1=values["macro_f1"])
    for i, k in enumerate(top_k):
        values[f"top{k}_accuracy"] = sums[:, 1 + 3 * labels + i] / items
    return _as_intervals(values)


def multilabel_intervals(gold: np.ndarray, predicted: np.ndarray, present: list[int], bootstrap: Bootstrap) -> dict:
    """`<metric>_ci_low` / `<metric>_ci_high` of subset accuracy (`accuracy`, `subset_accuracy`), Hamming loss,
    micro precision/recall/F1 (`precision/recall/f1`) and macro F1 over the `present` label columns, as
    metrics.multilabel_scores defines them; the records resampled."""
    gold, predicted = gold.astype(bool), predicted.astype(bool)
    labels = gold.shape[1]
    counts = np.column_stack([(gold == predicted).all(axis=1), (gold != predicted).sum(axis=1),
                              gold & predicted, predicted, gold]).astype(np.float64)
    sums = resampled_sums(counts, bootstrap)
    items = sums[:, 0] * 0 + len(gold)  # a resample holds as many records as the split
    precision, recall, f1 = pooled_rates(sums[:, 2:], labels)
    _, _, per_label_f1 = per_label_rates(sums[:, 2:], labels)
    values = {"accuracy": sums[:, 0] / items, "subset_accuracy": sums[:, 0] / items,
              "hamming_loss": sums[:, 1] / (items * labels), "precision": precision, "recall": recall, "f1": f1,
              "macro_f1": per_label_f1[:, present].mean(axis=1) if present else np.zeros(len(sums))}
    return _as_intervals(values)


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
    """`<metric>_ci_low` / `_ci_high` of the entity-level micro precision/recall/F1 (also under their plain names),
    macro F1 and each type's F1 (`<TYPE>_f1`), sentences resampled."""
    types, counts = entity_counts(gold, predicted, strict_scheme)
    if not types:
        return {}
    sums = resampled_sums(counts, bootstrap)
    f1 = per_label_rates(sums, len(types))[2]
    micro = pooled_rates(sums, len(types))
    values = {"micro_precision": micro[0], "micro_recall": micro[1], "micro_f1": micro[2],
              "precision": micro[0], "recall": micro[1], "f1": micro[2], "macro_f1": f1.mean(axis=1)}
    values.update({f"{name}_f1": f1[:, i] for i, name in enumerate(types)})
    return _as_intervals(values)


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
    unique, group = np.unique(values, return_inverse=True)
    counts = np.zeros((len(weights), len(unique)))
    np.add.at(counts.T, group, weights.T)  # draws per distinct value, per resample
    before = np.cumsum(counts, axis=1) - counts
    return (before + (counts + 1) / 2)[:, group]


def regression_intervals(gold: np.ndarray, predicted: np.ndarray, bootstrap: Bootstrap) -> dict:
    """`<metric>_ci_low` / `<metric>_ci_high` of mse, rmse, mae, pearson and spearman, the examples resampled."""
    values: dict[str, list] = {name: [] for name in ("mse", "rmse", "mae", "pearson", "spearman")}
    error = predicted - gold
    for weights in multiplicities(len(gold), bootstrap):
        n = weights.sum(axis=1)
        mse = weights @ (error * error) / n
        values["mse"].append(mse)
        values["rmse"].append(np.sqrt(mse))
        values["mae"].append(weights @ np.abs(error) / n)
        values["pearson"].append(_weighted_correlation(gold, predicted, weights))
        gold_ranks, predicted_ranks = _resampled_ranks(gold, weights), _resampled_ranks(predicted, weights)
        values["spearman"].append(_weighted_correlation(gold_ranks, predicted_ranks, weights))
    return _as_intervals({name: np.concatenate(parts) for name, parts in values.items()})


def _as_intervals(values: dict[str, np.ndarray]) -> dict:
    out = {}
    for name, resampled in values.items():
        out[f"{name}_ci_low"], out[f"{name}_ci_high"] = interval(resampled)
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
    return [interval_text(metrics, names) + ".",
            f"(95% confidence intervals: percentile bootstrap over the {metrics['ci_items']:,} test "
            f"{metrics['ci_unit']}, {metrics['ci_resamples']:,} resamples, seed {metrics['ci_seed']}.)"]
