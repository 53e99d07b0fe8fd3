"""Label maps: a stable sorted order, checks for unseen labels, and writing them into the model config."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from .modeling import labels_from_config


def label_to_str(value) -> str:
    """Labels are strings everywhere (JSON 0/1, True/False and "0"/"1" all become "0"/"1")."""
    if isinstance(value, bool):
        return str(int(value))
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def sort_labels(labels: Iterable[str]) -> list[str]:
    """Numeric order when every label is an integer, otherwise lexicographic."""
    unique = set(labels)
    try:
        return sorted(unique, key=int)
    except ValueError:
        return sorted(unique)


def check_unseen_labels(label_list: list[str], labels_by_split: dict[str, list[str]], allow: bool) -> dict:
    """Labels absent from training; an error unless `allow`. Returns {split: {label: count}} of those."""
    known = set(label_list)
    unseen = {
        split: dict(Counter(label for label in labels if label not in known))
        for split, labels in labels_by_split.items()
    }
    unseen = {split: counts for split, counts in unseen.items() if counts}
    if unseen and not allow:
        details = "; ".join(f"{split}: {sorted(counts)}" for split, counts in unseen.items())
        raise ValueError(
            f"Labels that never occur in the training data: {details}. The model cannot predict them. "
            "Fix the split, or pass --allow_unseen_labels to keep them (they then always count as errors)."
        )
    return unseen


def apply_label_maps(config, label_list: list[str]) -> None:
    """Write id2label/label2id so that a saved model returns label names, e.g. through `pipeline`."""
    config.id2label = dict(enumerate(label_list))
    config.label2id = {label: index for index, label in enumerate(label_list)}
    config.num_labels = len(label_list)


def resolve_label_list(config, do_train: bool, train_labels: Iterable[str] | None,
                       other_labels: dict[str, list[str]], allow_unseen: bool) -> list[str]:
    """The label list: from the training data when training, else from a fine-tuned checkpoint's config.

    Checks validation/test labels against it and writes it into `config`.
    """
    label_list = None if do_train else labels_from_config(config)
    if label_list is None:
        if train_labels is None:
            raise ValueError("The label set comes from the training data (or a fine-tuned checkpoint): "
                             "pass --train_file.")
        label_list = sort_labels(train_labels)
    check_unseen_labels(label_list, {k: v for k, v in other_labels.items() if v}, allow_unseen)
    apply_label_maps(config, label_list)
    return label_list


def duplicates_and_conflicts(texts: list[str], labels: list[str]) -> dict:
    """Exact duplicate (text, label) records and texts given more than one label. Nothing is removed."""
    pairs = Counter(zip(texts, labels))
    labels_by_text: dict[str, set[str]] = {}
    for text, label in pairs:
        labels_by_text.setdefault(text, set()).add(label)
    conflicts = {text: sorted(found) for text, found in labels_by_text.items() if len(found) > 1}
    return {
        "records": len(texts),
        "distinct_texts": len(labels_by_text),
        "duplicate_records": sum(count - 1 for count in pairs.values()),
        "conflicting_texts": len(conflicts),
        "conflict_examples": dict(list(conflicts.items())[:20]),
    }
