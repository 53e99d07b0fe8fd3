"""Label maps: a stable sorted order, checks for unseen labels, and writing them into the model config."""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Iterable

from bertft_utils.config.option_values import parse_option_value
from bertft_utils.config.stored_settings import resolve_stored
from bertft_utils.data.readers import DataFormatError, shown_values
from bertft_utils.errors import UsageError

logger = logging.getLogger(__name__)
LABEL_NAMES_KEY = "bertft_label_names"


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


def parse_label_names(value: str) -> dict[str, str]:
    """--rename_labels: `raw=name` pairs separated by commas (`0=serious,1=sarcastic`), a JSON object, or a file
    holding either (one pair per line)."""
    parsed = parse_option_value(value, "--rename_labels")
    if isinstance(parsed, dict):
        pairs = [(label_to_str(raw), str(name).strip()) for raw, name in parsed.items()]
    elif all(isinstance(item, str) for item in parsed):
        pairs = [tuple(part.strip() for part in item.split("=", 1)) for item in parsed]
    else:
        pairs = []
    if not pairs or any(len(pair) != 2 or not all(pair) for pair in pairs):
        raise UsageError(f"--rename_labels must be raw=name pairs such as '0=serious,1=sarcastic'; got {value!r}.")
    names = dict(pairs)
    if len(names) != len(pairs) or len(set(names.values())) != len(names):
        raise UsageError(f"--rename_labels must give each raw label one name and each name once; got {value!r}.")
    return names


def resolve_label_names(config, given: str | None) -> dict[str, str] | None:
    """--rename_labels, else the names stored in a fine-tuned model's config; stored with the model either way."""
    return resolve_stored(config, LABEL_NAMES_KEY, parse_label_names(given) if given else None, "--rename_labels")


def name_labels(labels: list[str], sources: list[tuple[str, int]], names: dict[str, str]) -> list[str]:
    """Raw label values replaced by their names; a value without a name is an error naming its file and line."""
    named = []
    for raw, (path, line) in zip(labels, sources, strict=True):
        if raw not in names:
            raise DataFormatError(f"{path}, line {line}: label {raw!r} has no name in --rename_labels "
                                  f"(names given for {sorted(names)}).")
        named.append(names[raw])
    return named


def named_label_order(names: dict[str, str] | None) -> list[str] | None:
    """Named labels keep the order of their raw values (so `1=sarcastic` stays the positive class)."""
    return None if not names else [names[raw] for raw in sort_labels(names)]


def check_unseen_labels(label_list: list[str], labels_by_split: dict[str, Iterable[str]], allow: bool) -> dict:
    """Labels absent from training; an error unless `allow`. Returns {split: {label: count}} of those."""
    known = set(label_list)
    unseen = {
        split: dict(Counter(label for label in labels if label not in known))
        for split, labels in labels_by_split.items()
    }
    unseen = {split: counts for split, counts in unseen.items() if counts}
    if unseen and not allow:
        details = "; ".join(f"{split}: {shown_values(sorted(counts))}" for split, counts in unseen.items())
        raise UsageError(
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
                       other_labels: dict[str, Iterable[str] | None], allow_unseen: bool,
                       order: list[str] | None = None) -> tuple[list[str], bool]:
    """The label list and whether the model needs a new classification head.

    Evaluation or prediction: the fine-tuned checkpoint's labels. Training: the training data's labels (sorted, or in
    `order`, e.g. that of --rename_labels); a checkpoint that already has a head over the same label set keeps its
    order (as HF's scripts do), so its rows keep their meaning; another label set gets a new head. Checks
    validation/test labels against the list and writes it into `config`.
    """
    checkpoint = labels_from_config(config)
    label_list, new_head = (None if do_train else checkpoint), False
    if label_list is None:
        if train_labels is None:
            raise UsageError("The label set comes from the training data (or a fine-tuned checkpoint): "
                             "pass --train_file.")
        seen = set(train_labels)
        label_list = [label for label in order if label in seen] if order else sort_labels(seen)
        if checkpoint is not None and set(checkpoint) == seen:
            if checkpoint != label_list:
                logger.info("The checkpoint's head already has these %d labels: its order is kept.", len(checkpoint))
            label_list = checkpoint
        elif checkpoint is not None:
            new_head = True
            logger.warning("The checkpoint's head has %d other labels (%s): a new head is trained for the data's %d "
                           "(%s).", len(checkpoint), shown_values(checkpoint), len(label_list),
                           shown_values(label_list))
    check_unseen_labels(label_list, {k: v for k, v in other_labels.items() if v}, allow_unseen)
    apply_label_maps(config, label_list)
    return label_list, new_head


POSITIVE_LABEL_KEY = "bertft_positive_label"
TRUE_VALUES = ("1", "true", "yes")


def resolve_positive_label(config, given: str | None, label_list: list[str], train_counts: Counter | None,
                           names: dict[str, str] | None) -> tuple[str, str] | None:
    """(positive label, why it was taken) for two classes, stored in the config; None for more classes.

    --positive_label, else the one stored with a fine-tuned model, else the label whose raw value is 1/true/yes,
    else the rarer training label (the first in the training file on a tie). Never "whichever sorts second".
    """
    if len(label_list) != 2:
        return None
    stored = getattr(config, POSITIVE_LABEL_KEY, None)
    raw_of = {name: raw for raw, name in (names or {}).items()}
    truthy = [label for label in label_list if raw_of.get(label, label).strip().lower() in TRUE_VALUES]
    if given:
        if given not in label_list:
            raise UsageError(f"--positive_label {given!r} is not one of the two labels {label_list}.")
        chosen, why = given, "--positive_label"
    elif stored in label_list:
        chosen, why = stored, "stored with the model"
    elif len(truthy) == 1:
        chosen, why = truthy[0], f"its raw value is {raw_of.get(truthy[0], truthy[0])!r}"
    elif train_counts:
        chosen = min(label_list, key=lambda label: (train_counts.get(label, 0), list(train_counts).index(label)
                                                   if label in train_counts else 0))
        why = "the rarer label in training"
    else:
        raise UsageError(f"Which of {label_list} is the positive class? Pass --positive_label.")
    setattr(config, POSITIVE_LABEL_KEY, chosen)
    logger.info("Binary precision/recall/F1 are for the positive label %r (%s; --positive_label chooses).", chosen,
                why)
    return chosen, why


def duplicates_and_conflicts(texts: list[str], labels: list[str]) -> dict:
    """Exact duplicate (text, label) records and texts given more than one label. Nothing is removed."""
    pairs = Counter(zip(texts, labels, strict=True))
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


def labels_from_config(config) -> list[str] | None:
    """The label list of a fine-tuned checkpoint, or None for a base checkpoint (LABEL_0, LABEL_1, ...)."""
    id2label = getattr(config, "id2label", None) or {}
    labels = [id2label[i] for i in sorted(id2label, key=int)]
    if not labels or labels == [f"LABEL_{i}" for i in range(len(labels))]:
        return None
    return labels


def parsed_label_list(value) -> list | None:
    """A label cell holding several labels as JSON: a list (JSON files), or a string that parses as a JSON list (csv,
    tsv); None otherwise."""
    if isinstance(value, list):
        return value
    if isinstance(value, str) and value.strip().startswith("[") and value.strip().endswith("]"):
        try:
            parsed = json.loads(value)
        except json.JSONDecodeError:
            return None
        return parsed if isinstance(parsed, list) else None
    return None


def parse_label_set(value, delimiter: str | None, source: tuple[str, int]) -> list[str]:
    """The labels of one multi-label record: a JSON list, else the cell split by `delimiter` (--label_delimiter),
    else the cell as one label; an empty cell is no label. Each label once, in the order given; a list holding lists
    or objects is an error naming the file and line."""
    listed = parsed_label_list(value)
    if listed is None:
        text = "" if value is None else label_to_str(value)
        listed = text.split(delimiter) if delimiter else [text]
    if any(isinstance(item, list | dict) for item in listed):
        raise DataFormatError(f"{source[0]}, line {source[1]}: label {value!r} nests lists or objects; a multi-label "
                              "cell is a JSON list of labels, or labels split by --label_delimiter.")
    labels = [label_to_str(item) for item in listed if item is not None]
    return list(dict.fromkeys(label for label in labels if label))
