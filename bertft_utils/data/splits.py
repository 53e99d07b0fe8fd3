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
from collections.abc import Callable, Hashable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as compute
from transformers import TrainingArguments
from transformers.trainer_utils import IntervalStrategy

from bertft_utils.config.arguments import DataArguments
from bertft_utils.config.effects import SPLIT, names_with
from bertft_utils.data.readers import file_sha256
from bertft_utils.errors import UsageError

logger = logging.getLogger(__name__)
SPLIT_NAMES = ("train", "validation", "test")
SPLIT_FILE_NAME = "split_ids.json"


@dataclass(frozen=True)
class StreamedSplit:
    """Unlabelled input too large to hold (NER's --predict_text_file): checked and counted once before the run,
    then read piece by piece for prediction."""

    name: str  # the split's name, which its prediction files carry (e.g. 'text')
    path: str
    lines: int  # lines of the file
    records: int  # records in it (blank lines hold none)
    pieces: Callable[[], Iterator[tuple[Any, int]]]  # each piece's records and the file line reached


def normalized_text(text: str) -> str:
    """A text as splits compare it: runs of whitespace made one space, ends stripped."""
    return " ".join(str(text).split())


def loosely_normalized_text(text: str) -> str:
    """A text as the near-duplicate count compares it: case folded, only letters and digits kept."""
    return "".join(character for character in str(text).casefold() if character.isalnum())


# Python's whitespace (what str.split() splits on) as a class of Arrow's regular expressions (RE2)
WHITESPACE_RUN = r"[\t-\r\x1c-\x20\x{85}\x{a0}\x{1680}\x{2000}-\x{200a}\x{2028}\x{2029}\x{202f}\x{205f}\x{3000}]+"


GROUPED_AT_ONCE = 1_000_000  # texts normalised at a time: Arrow's intermediate copies are held for these only


def text_groups(texts: Sequence[str]) -> tuple[np.ndarray, int]:
    """Each text's group, texts equal after `normalized_text` sharing one, numbered in order of first occurrence;
    and how many groups there are. Normalised and hashed by Arrow over its string buffers: a Python string per text,
    hashed by pandas, took 14x the time for 10x the texts on millions (memory, not hashing, grows). Python's own
    functions where Arrow cannot hold a text (a lone surrogate)."""
    if not len(texts):
        return np.zeros(0, dtype=np.int64), 0
    normalized = []
    try:
        for start in range(0, len(texts), GROUPED_AT_ONCE):
            array = pa.array(texts[start:start + GROUPED_AT_ONCE], type=pa.large_string())
            normalized.append(compute.utf8_trim(compute.replace_substring_regex(array, WHITESPACE_RUN, " "), " "))
    except (pa.ArrowException, UnicodeError):
        codes, distinct = _factorized([normalized_text(text) for text in texts])
        return codes, len(distinct)
    encoded = pa.chunked_array(normalized).dictionary_encode()  # one dictionary for all chunks, indices into it
    del normalized
    codes = np.concatenate([chunk.indices.to_numpy(zero_copy_only=False) for chunk in encoded.chunks])
    distinct = len(encoded.chunks[-1].dictionary)
    del encoded
    pa.default_memory_pool().release_unused()  # Arrow's allocator keeps what it freed unless told
    return codes.astype(np.int64), distinct


def _factorized(values: Sequence[Hashable]) -> tuple[np.ndarray, np.ndarray]:
    """Each value's code, codes counting up in order of first occurrence, and the distinct values (equal as dict
    keys are equal)."""
    if isinstance(values, np.ndarray) and values.dtype.kind in "iu":  # codes already (text_groups)
        return pd.factorize(values, use_na_sentinel=False)
    return pd.factorize(np.fromiter(values, dtype=object, count=len(values)), use_na_sentinel=False)


def _units(labels: Sequence[Hashable], groups: Sequence[Hashable] | None) -> tuple[list, np.ndarray | None]:
    """The records grouped into units that must share a split, in order of first occurrence: each unit's stratum
    (its first record's label) and each record's unit (None without groups: every record is its own unit).
    Hashing in pandas, not a dict of lists: the same grouping, without a Python list per record."""
    if groups is None:
        return list(labels), None
    codes, _ = _factorized(groups)
    first_records = np.unique(codes, return_index=True)[1]  # codes count up in order of first occurrence
    return [labels[i] for i in first_records.tolist()], codes


def stratified_split(
    labels: Sequence[Hashable], validation_percentage: float, test_percentage: float, seed: int,
    groups: Sequence[Hashable] | None = None,
) -> dict[str, list[int]]:
    """Indices of each split. Every label is split in the given proportions (rounded), keeping one in train.

    Records with the same `groups` key (e.g. the same text) always land in the same split; proportions then count
    groups. The result depends only on the labels, the groups, the percentages and the seed.
    """
    unit_labels, unit_of_record = _units(labels, groups)
    label_codes, label_values = _factorized(unit_labels)
    units_by_code = np.argsort(label_codes, kind="stable")  # each label's units, in order of occurrence
    bounds = np.searchsorted(label_codes[units_by_code], np.arange(len(label_values) + 1))
    rng = random.Random(seed)
    split_of_unit = np.zeros(len(unit_labels), dtype=np.int8)  # index into SPLIT_NAMES; train unless chosen
    for code in sorted(range(len(label_values)), key=lambda c: str(label_values[c])):
        indices = units_by_code[bounds[code]:bounds[code + 1]].tolist()
        rng.shuffle(indices)
        n = len(indices)
        n_test = int(round(n * test_percentage / 100))
        n_validation = int(round(n * validation_percentage / 100))
        while n_test + n_validation > n - 1 and (n_test or n_validation):
            if n_test >= n_validation:
                n_test -= 1
            else:
                n_validation -= 1
        split_of_unit[indices[:n_test]] = SPLIT_NAMES.index("test")
        split_of_unit[indices[n_test:n_test + n_validation]] = SPLIT_NAMES.index("validation")
    split_of_record = split_of_unit if unit_of_record is None else split_of_unit[unit_of_record]
    return {name: np.flatnonzero(split_of_record == number).tolist() for number, name in enumerate(SPLIT_NAMES)}


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
                percentages: tuple[float, float], source_sha256: str | None = None) -> str:
    """Write the split as 0-based record indices into `source_file`, with the file's SHA-256 (computed unless
    given); returns the path."""
    os.makedirs(output_dir, exist_ok=True)
    path = os.path.join(output_dir, SPLIT_FILE_NAME)
    if source_sha256 is None and os.path.isfile(source_file):
        source_sha256 = file_sha256(source_file)
    payload = {
        "source_file": os.path.basename(source_file),
        "source_sha256": source_sha256,
        "index_base": 0,
        "note": "indices count records (non-blank lines / sentences) of source_file, in file order; records with "
                "the same text (after whitespace normalisation) share a split",
        "seed": seed,
        "validation_percentage": percentages[0],
        "test_percentage": percentages[1],
        "sizes": {name: len(ids) for name, ids in splits.items()},
        **{name: ids for name, ids in splits.items()},
    }
    temporary = path + ".tmp"
    with open(temporary, "w", encoding="utf-8") as handle:
        json.dump(payload, handle)
    os.replace(temporary, path)  # a run killed while writing leaves the previous split, never half of one
    return path


def _read_payload(path: str) -> dict:
    with open(path, encoding="utf-8") as handle:
        payload = json.load(handle)
    missing = [name for name in SPLIT_NAMES if name not in payload]
    if missing:
        raise UsageError(f"{path}: not a split file (missing {missing}).")
    return payload


def read_split(path: str, num_records: int) -> tuple[dict[str, list[int]], dict]:
    """Load a split written by `write_split`; every record of the data file must be in exactly one split.

    Returns the split and its settings (seed, percentages, source file and hash) as recorded in the file."""
    payload = _read_payload(path)
    seen: set[int] = set()
    for name in SPLIT_NAMES:
        for index in payload[name]:
            if not 0 <= index < num_records:
                raise UsageError(
                    f"{path}: index {index} in {name!r} is outside the data file, which has {num_records} records. "
                    "Was the split written for another file?"
                )
            if index in seen:
                raise UsageError(f"{path}: index {index} appears in more than one split.")
            seen.add(index)
    if len(seen) != num_records:
        absent = [i for i in range(num_records) if i not in seen]
        raise UsageError(f"{path}: {len(absent)} of the data file's {num_records} records are in no split (record "
                         f"ids {absent[:10]}{' ...' if len(absent) > 10 else ''}). Was the split written for another "
                         "file? Make a new split (leave out --split_file).")
    settings = {k: payload.get(k) for k in ("seed", "validation_percentage", "test_percentage", "source_file",
                                             "source_sha256")}
    return {name: list(payload[name]) for name in SPLIT_NAMES}, settings


def stored_split_path(model_name_or_path: str | None) -> str | None:
    """The split a fine-tuned model folder was trained with (its split_ids.json), or None."""
    if not model_name_or_path or not os.path.isdir(model_name_or_path):
        return None
    path = os.path.join(model_name_or_path, SPLIT_FILE_NAME)
    return path if os.path.isfile(path) else None


# The arguments declared to decide a split (effects.SPLIT) that split_ids.json records, under its own keys; the others
# are the file itself (--train_file, by content), a given split (--split_file) and the permission --new_split.
STORED_AS = {"split_seed": "seed", "validation_split_percentage": "validation_percentage",
             "test_split_percentage": "test_percentage"}


def _check_stored_split(path: str, settings: dict, data_args, digest: str) -> None:
    """The stored split of a model applies to --train_file (content `digest`) only if it was made of the same file,
    with the settings this run asks for; anything else is refused with the reason."""
    train_file = data_args.train_file
    folder = os.path.dirname(path)
    if settings.get("source_sha256") is not None and settings["source_sha256"] != digest:
        raise UsageError(
            f"--model_name_or_path {folder} was trained on a split of {settings['source_file']} (SHA-256 "
            f"{settings['source_sha256'][:12]}...), but --train_file {train_file} has other content (SHA-256 "
            f"{digest[:12]}...): a fresh split of it could score the model on records it was trained on. Pass "
            f"--split_file to use a split on purpose, or --new_split to split {train_file} afresh anyway.")
    asked = {f"--{name}": (settings.get(STORED_AS[name]), getattr(data_args, name))
             for name in names_with(DataArguments, SPLIT) if name in STORED_AS}
    given = {"--validation_split_percentage": data_args.validation_file, "--test_split_percentage": data_args.test_file}
    differing = [f"{flag} {now} (the model's split: {then})" for flag, (then, now) in asked.items()
                 if then is not None and not given.get(flag) and float(then) != float(now)]
    if differing:
        raise UsageError(
            f"--model_name_or_path {folder} was trained on the split of {train_file} made with other settings: "
            f"{'; '.join(differing)}. Leave them at the model's values to evaluate on its own held-out records, pass "
            "--split_file to use a split on purpose, or --new_split to split afresh anyway.")


def _check_split_source(path: str, payload: dict, train_file: str, digest: str | None) -> None:
    """--split_file indexes the records of the file it was made of: refused for a file of other content (a reordered
    file of the same size would put training records in the test split); a split without the SHA-256 of its file
    cannot be checked, and the log says so."""
    recorded = payload.get("source_sha256")
    if recorded is None:
        logger.warning("--split_file %s records no SHA-256 of the file it indexes: it cannot be checked against "
                       "--train_file %s (same size is all that is checked). A split written by this package "
                       "records it.", path, train_file)
    elif digest is not None and recorded != digest:
        raise UsageError(f"--split_file {path} indexes the records of {payload.get('source_file')} with SHA-256 "
                         f"{recorded}, but --train_file {train_file} has SHA-256 {digest}: the same indices would "
                         "pick other records. Use the file the split was made of, or leave out --split_file to "
                         "split this one afresh.")


def split_train_file(data_args, labels: Sequence[Hashable], output_dir: str, write: bool,
                     texts: Sequence[str] | None = None, model_name_or_path: str | None = None) -> dict[str, list[int]]:
    """Indices of --train_file records per split: from --split_file, else the split the model folder
    (--model_name_or_path) was trained with when it was made of this file, else a fresh stratified split.

    A split depends only on the file's content, --split_seed and the percentages, never on what the run does: the
    validation/test parts are held out whenever no --validation_file/--test_file is given. Records with the same text
    (after whitespace normalisation) share a split. `labels` stratifies (one constant value per record: a plain
    seeded shuffle). The split is written to output_dir.
    """
    files = (data_args.validation_file, data_args.test_file)
    stored = None if getattr(data_args, "new_split", False) else stored_split_path(model_name_or_path)
    path = data_args.split_file or stored
    digest = file_sha256(data_args.train_file) if os.path.isfile(data_args.train_file) else None
    if path:
        if not data_args.split_file:  # the file and settings first: a split of another file fails on its content
            _check_stored_split(path, _read_payload(path), data_args, digest)
        else:
            _check_split_source(path, _read_payload(path), data_args.train_file, digest)
        splits, settings = read_split(path, len(labels))
        if not data_args.split_file:
            logger.info("Using the split %s was trained with (%s, the same content as --train_file): its held-out "
                        "records stay held out.", os.path.dirname(path), path)
        for name, given in zip(("validation", "test"), files, strict=True):
            if given and splits[name]:
                raise UsageError(
                    f"{'--split_file ' + path if data_args.split_file else 'The split of the model (' + path + ')'} "
                    f"holds {len(splits[name])} {name} records of --train_file, but --{name}_file {given} was given "
                    f"too: those records would be neither trained on nor scored. Drop --{name}_file, or "
                    f"{'make a new split without --split_file' if data_args.split_file else 'pass --new_split'}.")
        seed, percentages = settings["seed"], (settings["validation_percentage"], settings["test_percentage"])
    else:
        percentages = tuple(0.0 if given else percentage for given, percentage in zip(
            files, (data_args.validation_split_percentage, data_args.test_split_percentage), strict=True))
        seed = data_args.split_seed
        groups, distinct = (None, len(labels)) if texts is None else text_groups(texts)
        splits = stratified_split(labels, *percentages, seed, groups)
        if distinct < len(labels):
            logger.info("%s: %d records, %d distinct texts: records with the same text share a split.",
                        data_args.train_file, len(labels), distinct)
        for name, percentage in zip(("validation", "test"), percentages, strict=True):
            if percentage and not splits[name]:
                logger.warning("%s: no %s records could be held out (%g%% asked): its %d records have %d distinct "
                               "texts, and records with the same text share a split. Give --%s_file.",
                               data_args.train_file, name, percentage, len(labels), distinct, name)
    if write:
        write_split(output_dir, splits, data_args.train_file, seed, percentages, digest)
    return splits


def train_overlap(train_texts: Sequence[str], other_texts: Sequence[str]) -> dict:
    """How many records of a held-out split also occur in training: identical after whitespace normalisation (and
    which: `identical_indices`), and nearly so (case, spaces and punctuation ignored)."""
    exact = {normalized_text(text) for text in train_texts}
    loose = {loosely_normalized_text(text) for text in train_texts}
    identical = [i for i, text in enumerate(other_texts) if normalized_text(text) in exact]
    near = sum(loosely_normalized_text(text) in loose for text in other_texts)
    return {"records": len(other_texts), "identical_in_train": len(identical), "near_identical_in_train": near,
            "identical_examples": [other_texts[i] for i in identical[:10]], "identical_indices": identical}


def held_out_splits_needed(training_args: TrainingArguments) -> tuple[bool, bool]:
    """Whether this run uses a validation split (evaluation, also during training) and a test split."""
    evaluates = training_args.do_eval or training_args.eval_strategy != IntervalStrategy.NO
    return evaluates, bool(training_args.do_predict)


def require_splits(training_args: TrainingArguments, available, predicted: list[str]) -> None:
    """--do_train/--do_eval need their split; --do_predict needs something to predict (`predicted`)."""
    for flag, split in (("do_train", "train"), ("do_eval", "validation")):
        if getattr(training_args, flag) and split not in available:
            raise UsageError(f"--{flag} needs a {split} split: pass --{split}_file, or a --train_file to split.")
    if training_args.do_predict and not predicted:
        raise UsageError("--do_predict needs a test split: pass --test_file, or a --train_file to split.")
