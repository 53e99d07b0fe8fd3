"""Seeded stratified train/validation/test splits, written to disk so anyone can reproduce them.

Our own per-class allocation rather than scikit-learn's `train_test_split`: that one refuses classes with a single
member and can leave a rare class out of training; here every class keeps at least one training example.
"""

from __future__ import annotations

import json
import logging
import os
import random
from collections import defaultdict
from collections.abc import Hashable, Sequence

logger = logging.getLogger(__name__)
SPLIT_NAMES = ("train", "validation", "test")
SPLIT_FILE_NAME = "split_ids.json"


def stratified_split(
    labels: Sequence[Hashable], validation_percentage: float, test_percentage: float, seed: int
) -> dict[str, list[int]]:
    """Indices of each split. Every label is split in the given proportions (rounded), keeping one in train.

    The result depends only on the labels, the percentages and the seed.
    """
    by_label: dict[Hashable, list[int]] = defaultdict(list)
    for index, label in enumerate(labels):
        by_label[label].append(index)
    rng = random.Random(seed)
    splits: dict[str, list[int]] = {name: [] for name in SPLIT_NAMES}
    for label in sorted(by_label, key=str):
        indices = by_label[label]
        rng.shuffle(indices)
        n = len(indices)
        n_test = int(round(n * test_percentage / 100))
        n_validation = int(round(n * validation_percentage / 100))
        while n_test + n_validation > n - 1 and (n_test or n_validation):
            if n_test >= n_validation:
                n_test -= 1
            else:
                n_validation -= 1
        splits["test"].extend(indices[:n_test])
        splits["validation"].extend(indices[n_test:n_test + n_validation])
        splits["train"].extend(indices[n_test + n_validation:])
    for name in SPLIT_NAMES:
        splits[name].sort()
    return splits


def sample_indices(n_records: int, n: int | None, seed: int, labels: Sequence[Hashable] | None = None) -> list[int]:
    """A seeded random subset of `n` record indices, in file order (all of them when `n` is None or too large).

    With `labels` the subset is stratified: each label gets its share (largest remainders), and every label keeps at
    least one record while `n` allows it, so a quick run on a file sorted by label still sees every label.
    """
    if n is None or n >= n_records:
        return list(range(n_records))
    rng = random.Random(seed)
    if labels is None:
        return sorted(rng.sample(range(n_records), n))
    by_label: dict[Hashable, list[int]] = defaultdict(list)
    for index, label in enumerate(labels):
        by_label[label].append(index)
    keys = sorted(by_label, key=str)
    floor_one = n >= len(keys)
    shares = {k: n * len(by_label[k]) / n_records for k in keys}
    counts = {k: max(int(shares[k]), 1 if floor_one else 0) for k in keys}
    by_remainder = sorted(keys, key=lambda k: (-(shares[k] - int(shares[k])), str(k)))
    while sum(counts.values()) < n:
        for k in by_remainder:
            if sum(counts.values()) < n and counts[k] < len(by_label[k]):
                counts[k] += 1
    while sum(counts.values()) > n:  # the floor of one per label overshot: take back from the largest
        largest = max(keys, key=lambda k: (counts[k], str(k)))
        counts[largest] -= 1
    chosen = [i for k in keys for i in rng.sample(by_label[k], counts[k])]
    return sorted(chosen)


def write_split(output_dir: str, splits: dict[str, list[int]], source_file: str, seed: int,
                percentages: tuple[float, float]) -> str:
    """Write the split as 0-based record indices into `source_file`; returns the path written."""
    os.makedirs(output_dir, exist_ok=True)
    path = os.path.join(output_dir, SPLIT_FILE_NAME)
    payload = {
        "source_file": os.path.basename(source_file),
        "index_base": 0,
        "note": "indices count records (non-blank lines / sentences) of source_file, in file order",
        "seed": seed,
        "validation_percentage": percentages[0],
        "test_percentage": percentages[1],
        "sizes": {name: len(ids) for name, ids in splits.items()},
        **{name: ids for name, ids in splits.items()},
    }
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(payload, handle)
    return path


def read_split(path: str, num_records: int) -> tuple[dict[str, list[int]], dict]:
    """Load a split written by `write_split`; every record of the data file must be in exactly one split.

    Returns the split and its settings (seed, percentages) as recorded in the file."""
    with open(path, encoding="utf-8") as handle:
        payload = json.load(handle)
    missing = [name for name in SPLIT_NAMES if name not in payload]
    if missing:
        raise ValueError(f"{path}: not a split file (missing {missing}).")
    seen: set[int] = set()
    for name in SPLIT_NAMES:
        for index in payload[name]:
            if not 0 <= index < num_records:
                raise ValueError(
                    f"{path}: index {index} in {name!r} is outside the data file, which has {num_records} records. "
                    "Was the split written for another file?"
                )
            if index in seen:
                raise ValueError(f"{path}: index {index} appears in more than one split.")
            seen.add(index)
    if len(seen) != num_records:
        absent = [i for i in range(num_records) if i not in seen]
        raise ValueError(f"{path}: {len(absent)} of the data file's {num_records} records are in no split (record "
                         f"ids {absent[:10]}{' ...' if len(absent) > 10 else ''}). Was the split written for another "
                         "file? Make a new split (leave out --split_file).")
    settings = {k: payload.get(k) for k in ("seed", "validation_percentage", "test_percentage")}
    return {name: list(payload[name]) for name in SPLIT_NAMES}, settings


def split_train_file(data_args, labels: Sequence[Hashable], output_dir: str, write: bool,
                     needed: tuple[bool, bool] = (True, True)) -> dict[str, list[int]]:
    """Indices of --train_file records per split: from --split_file, or a fresh stratified split.

    Validation/test are carved out only when no --validation_file/--test_file is given and the run uses them
    (`needed`: evaluation, prediction); records are never held back for nothing. `labels` stratifies (pass one
    constant value per record for a plain seeded shuffle). The split is written to output_dir.
    """
    files = (data_args.validation_file, data_args.test_file)
    if data_args.split_file:
        splits, settings = read_split(data_args.split_file, len(labels))
        for name, given in zip(("validation", "test"), files, strict=True):
            if given and splits[name]:
                raise ValueError(
                    f"--split_file {data_args.split_file} holds {len(splits[name])} {name} records of --train_file, "
                    f"but --{name}_file {given} was given too: those records would be neither trained on nor "
                    f"scored. Drop --{name}_file, or make a new split without --split_file.")
        seed, percentages = settings["seed"], (settings["validation_percentage"], settings["test_percentage"])
    else:
        percentages = tuple(
            0.0 if given or not used else percentage for given, used, percentage in zip(
                files, needed, (data_args.validation_split_percentage, data_args.test_split_percentage), strict=True))
        for name, given, used in zip(("validation", "test"), files, needed, strict=True):
            if not given and not used:
                logger.info("No %s records are held out of %s: nothing in this run uses them (no --%s).", name,
                            data_args.train_file, "do_eval" if name == "validation" else "do_predict")
        seed = data_args.split_seed
        splits = stratified_split(labels, *percentages, seed)
    if write:
        write_split(output_dir, splits, data_args.train_file, seed, percentages)
    return splits
