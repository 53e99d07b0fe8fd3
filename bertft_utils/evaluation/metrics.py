"""Metrics computed with scikit-learn and seqeval directly (`evaluate.load` needs the Hub)."""

from __future__ import annotations

import time

import numpy as np
from sklearn.metrics import (
    accuracy_score,
    classification_report,
    confusion_matrix,
    hamming_loss,
    matthews_corrcoef,
    precision_recall_fscore_support,
)

from bertft_utils.evaluation.uncertainty import (
    FEW_TEST_ITEMS,
    Bootstrap,
    classification_intervals,
    entity_intervals,
    multilabel_intervals,
    regression_intervals,
)


def classification_metrics(gold: list[int], predicted: list[int], label_list: list[str],
                           positive_label: str | None = None) -> dict:
    """Accuracy, precision/recall/F1, Matthews correlation (`mcc`) and the confusion matrix.

    Two classes: `precision/recall/f1` are binary, for `positive_label` (named in the result); more classes: they
    are macro averages. `macro_*` and `weighted_*` run over the labels present in this split's gold or
    predictions (scikit-learn's `labels=`; `macro_labels` says how many): a label neither in the gold nor predicted
    says nothing about this split. Gold labels unseen in training (negative ids) count as one label, never predicted.
    """
    present = sorted(set(gold) | set(predicted))
    metrics = {"accuracy": float(accuracy_score(gold, predicted)), "macro_labels": len(present),
               "mcc": float(matthews_corrcoef(gold, predicted)) if gold else 0.0}
    for average in ("macro", "weighted"):
        p, r, f, _ = precision_recall_fscore_support(gold, predicted, labels=present, average=average,
                                                     zero_division=0)
        metrics.update({f"{average}_precision": float(p), f"{average}_recall": float(r), f"{average}_f1": float(f)})
    if len(label_list) == 2 and positive_label is not None:
        # per-label scores, not average="binary": gold labels unseen in training (negative ids) make scikit-learn
        # call the task multiclass; here they count as errors of whatever was predicted for them
        positive = label_list.index(positive_label)
        p, r, f, _ = precision_recall_fscore_support(gold, predicted, labels=[positive], average=None,
                                                     zero_division=0)
        metrics.update({"precision": float(p[0]), "recall": float(r[0]), "f1": float(f[0]),
                        "positive_label": positive_label})
    else:
        metrics.update({"precision": metrics["macro_precision"], "recall": metrics["macro_recall"],
                        "f1": metrics["macro_f1"]})
    label_ids = list(range(len(label_list)))
    metrics["confusion_matrix"] = confusion_matrix(gold, predicted, labels=label_ids).tolist()
    metrics["unseen_label_records"] = int(sum(g < 0 for g in gold))
    return metrics


def regression_scores(gold: np.ndarray, predicted: np.ndarray, bootstrap: Bootstrap | None = None) -> dict:
    """MSE, RMSE, MAE, Pearson's r and Spearman's rho (scipy; 0 when a side is constant), with their 95% intervals
    when a `bootstrap` of resamples is given."""
    from scipy import stats

    gold, predicted = np.asarray(gold, dtype=np.float64), np.asarray(predicted, dtype=np.float64)
    error = predicted - gold
    varied = len(gold) > 1 and np.ptp(gold) > 0 and np.ptp(predicted) > 0
    metrics = {"mse": float(np.mean(error**2)), "rmse": float(np.sqrt(np.mean(error**2))),
               "mae": float(np.mean(np.abs(error))), "samples": len(gold),
               "pearson": float(stats.pearsonr(gold, predicted)[0]) if varied else 0.0,
               "spearman": float(stats.spearmanr(gold, predicted)[0]) if varied else 0.0}
    if bootstrap is not None and bootstrap.resamples and len(gold):
        started = time.perf_counter()
        metrics.update(regression_intervals(gold, predicted, bootstrap))
        metrics.update(bootstrap.facts(len(gold), "examples"), ci_runtime=time.perf_counter() - started)
    return metrics


def top_k_accuracy(gold: np.ndarray, scores: np.ndarray, k: int) -> float:
    """Fraction of examples whose gold label is among the k highest scores."""
    k = min(k, scores.shape[-1])
    top = np.argsort(-scores, axis=-1)[:, :k]
    return float(np.mean([g in row for g, row in zip(gold, top, strict=True)]))


def classification_scores(gold_labels: list[str], probabilities: np.ndarray, label_list: list[str],
                          top_k: tuple[int, ...] = (), positive: tuple[str, str] | None = None,
                          bootstrap: Bootstrap | None = None) -> dict:
    """The test scores of class probabilities: classification_metrics of the top class (binary for the `positive`
    class (label, why it was taken), with two classes), top-k accuracies, the per-label table (`report_table`,
    scikit-learn's classification_report over the records whose gold label was seen in training) and, with a
    `bootstrap` of resamples, the 95% confidence interval of each headline metric."""
    predicted = probabilities.argmax(axis=-1)
    label_to_id = {label: i for i, label in enumerate(label_list)}
    gold_ids = np.array([label_to_id.get(label, -1) for label in gold_labels])
    metrics = classification_metrics(gold_ids.tolist(), predicted.tolist(), label_list, positive and positive[0])
    if positive:
        metrics["positive_label_rule"] = positive[1]
    for k in top_k:
        metrics[f"top{k}_accuracy"] = top_k_accuracy(gold_ids, probabilities, k)
    metrics["samples"] = len(gold_labels)
    gold_counts = np.bincount(gold_ids[gold_ids >= 0], minlength=len(label_list))
    metrics["labels_with_few_test_items"] = int(((gold_counts > 0) & (gold_counts < FEW_TEST_ITEMS)).sum())
    known = gold_ids >= 0
    metrics["report_table"] = classification_report(gold_ids[known], predicted[known],
                                                    labels=list(range(len(label_list))), target_names=label_list,
                                                    digits=4, zero_division=0)
    if bootstrap is not None and bootstrap.resamples and len(gold_labels):
        started = time.perf_counter()
        metrics.update(classification_intervals(gold_ids, probabilities, label_to_id[positive[0]] if positive else
                                                None, top_k, bootstrap))
        metrics.update(bootstrap.facts(len(gold_labels), "examples"), ci_runtime=time.perf_counter() - started)
    return metrics


def multilabel_scores(gold: np.ndarray, predicted: np.ndarray, label_names: list[str],
                      bootstrap: Bootstrap | None = None) -> dict:
    """Scores of 0/1 label matrices (records x labels; columns past the model's labels are gold labels unseen in
    training, never predicted): subset accuracy (`accuracy`: every label of a record right), Hamming loss, micro
    (`precision/recall/f1`), macro and weighted precision/recall/F1, the label cardinality of gold and predictions,
    the per-label table, and with a `bootstrap` of resamples the 95% intervals of the headline scores. Macro and
    weighted averages run over the labels present in the gold or the predictions, as classification_metrics'."""
    present = [i for i in range(gold.shape[1]) if gold[:, i].any() or predicted[:, i].any()]
    subset_accuracy = float(accuracy_score(gold, predicted)) if len(gold) else 0.0
    metrics = {"accuracy": subset_accuracy, "subset_accuracy": subset_accuracy,
               "hamming_loss": float(hamming_loss(gold, predicted)) if len(gold) else 0.0, "samples": len(gold),
               "macro_labels": len(present), "label_cardinality": float(gold.sum(axis=1).mean()) if len(gold) else 0.0,
               "predicted_label_cardinality": float(predicted.sum(axis=1).mean()) if len(gold) else 0.0}
    for average in ("micro", "macro", "weighted"):
        p, r, f, _ = precision_recall_fscore_support(gold, predicted, labels=present if average != "micro" else None,
                                                     average=average, zero_division=0)
        metrics.update({f"{average}_precision": float(p), f"{average}_recall": float(r), f"{average}_f1": float(f)})
    metrics.update(precision=metrics["micro_precision"], recall=metrics["micro_recall"], f1=metrics["micro_f1"])
    metrics["report_table"] = classification_report(gold, predicted, labels=list(range(gold.shape[1])),
                                                    target_names=label_names, digits=4, zero_division=0)
    if bootstrap is not None and bootstrap.resamples and len(gold):
        started = time.perf_counter()
        metrics.update(multilabel_intervals(gold, predicted, bootstrap))
        metrics.update(bootstrap.facts(len(gold), "examples"), ci_runtime=time.perf_counter() - started)
    return metrics


# Text facts kept beside the numbers in *_results.json: what a number means.
NAMED_FACTS = ("positive_label", "positive_label_rule", "compute_precision", "compute_precision_chosen_by",
               "decoding", "ci_unit", "ci_method", "strict_scheme",
               "predictions_layout")


def scalar_metrics(metrics: dict, prefix: str) -> dict:
    """Numbers (and the NAMED_FACTS), with the split prefix, as the Trainer logs and `save_metrics` expects."""
    return {f"{prefix}_{k}": v for k, v in metrics.items()
            if (isinstance(v, int | float) and not isinstance(v, bool)) or (k in NAMED_FACTS and isinstance(v, str))}


def entity_scores(gold: list[list[str]], predicted: list[list[str]], strict_scheme: str | None = None,
                  bootstrap: Bootstrap | None = None) -> dict:
    """entity_metrics, each type's F1 under its own name (`<TYPE>_f1`) and, with a `bootstrap` of resamples, the 95%
    confidence intervals of micro precision/recall/F1, macro F1 and each type's F1 (sentences resampled)."""
    metrics = entity_metrics(gold, predicted, strict_scheme)
    metrics.update({f"{name}_f1": values["f1-score"] for name, values in metrics["per_type"].items()
                    if not name.endswith(" avg")})
    if bootstrap is not None and bootstrap.resamples and gold:
        started = time.perf_counter()
        metrics.update(entity_intervals(gold, predicted, strict_scheme, bootstrap))
        metrics.update(bootstrap.facts(len(gold), "sentences"), ci_runtime=time.perf_counter() - started)
    return metrics


def seqeval_text(report: dict, digits: int = 4) -> str:
    """seqeval's text report from its dict report, written by seqeval's own StringReporter (seqeval's
    classification_report counts the entities again for its text form)."""
    from seqeval.reporters import StringReporter

    types = [name for name in report if not name.endswith(" avg")]
    reporter = StringReporter(width=max(*map(len, types), len("weighted avg"), digits), digits=digits)
    for names in (types, [name for name in report if name.endswith(" avg")]):
        for name in names:
            values = report[name]
            reporter.write(name, values["precision"], values["recall"], values["f1-score"], values["support"])
        reporter.write_blank()
    return reporter.report()


def entity_metrics(gold: list[list[str]], predicted: list[list[str]], strict_scheme: str | None = None) -> dict:
    """Entity-level precision/recall/F1 per type and micro/macro/weighted averages (seqeval), plus token accuracy.

    Default: seqeval's default (conlleval-compatible) chunking; `strict_scheme` ("IOB2", "IOBES", ...) uses its
    strict mode, where only well-formed entities count.
    """
    from seqeval import scheme as seqeval_schemes
    from seqeval.metrics import accuracy_score as token_accuracy
    from seqeval.metrics import classification_report as seqeval_report

    kwargs = {"mode": "strict", "scheme": getattr(seqeval_schemes, strict_scheme)} if strict_scheme else {}
    if not any(tag != "O" for tags in (*gold, *predicted) for tag in tags):
        # seqeval's text report fails when no entity occurs at all (e.g. a small all-O validation sample)
        report, text = {}, "no entities in the gold or predicted tags\n"
    else:
        report = seqeval_report(gold, predicted, digits=4, output_dict=True, zero_division=0, **kwargs)
        text = seqeval_text(report)  # the same text, without seqeval counting every entity again
    per_type = {name: {k: float(v) if k != "support" else int(v) for k, v in values.items()}
                for name, values in report.items()}
    metrics: dict = {"per_type": per_type, "report_text": text,
                     "token_accuracy": float(token_accuracy(gold, predicted))}
    for average in ("micro", "macro", "weighted"):
        values = per_type.get(f"{average} avg", {"precision": 0.0, "recall": 0.0, "f1-score": 0.0})
        metrics.update({f"{average}_precision": values["precision"], f"{average}_recall": values["recall"],
                        f"{average}_f1": values["f1-score"]})
    metrics.update(precision=metrics["micro_precision"], recall=metrics["micro_recall"], f1=metrics["micro_f1"])
    return metrics
