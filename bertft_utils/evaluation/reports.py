"""Text reports of a run's scores (the summary lines the original report prints)."""

from __future__ import annotations


def format_classification_report(metrics: dict, per_label_table: str | None = None, notes=()) -> str:
    """The summary line the original report prints, then `notes` (e.g. on records also in training), then the
    per-label table."""
    lines = [
        f"accuracy: {metrics['accuracy']:.4f} recall: {metrics['recall']:.4f} "
        f"precision: {metrics['precision']:.4f} F1-score: {metrics['f1']:.4f}"
    ]
    if "positive_label" in metrics:
        rule = f", {metrics['positive_label_rule']}" if metrics.get("positive_label_rule") else ""
        lines.append(f"(precision/recall/F1 for positive label {metrics['positive_label']!r}{rule}; "
                     f"macro F1 {metrics['macro_f1']:.4f} over the {metrics['macro_labels']} labels present)")
    else:
        lines.append(f"(precision/recall/F1: macro averages over the {metrics['macro_labels']} labels present in "
                     "the gold or the predictions)")
    if metrics.get("unseen_label_records"):
        lines.append(f"({metrics['unseen_label_records']} records have gold labels never seen in training: they count "
                     "as errors in the line above and are left out of the per-label table and the confusion matrix)")
    lines += list(notes)
    if per_label_table:
        lines += ["", per_label_table]
    return "\n".join(lines) + "\n"
