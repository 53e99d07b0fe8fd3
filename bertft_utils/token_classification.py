"""What the NER task needs around the windows: tagged sentences per split, tag checks, scoring and output files."""

from __future__ import annotations

import json
import logging
import os

import numpy as np

from .metrics import entity_metrics
from .readers import TaggedSentence, TokenFile, read_token_file
from .reporting import announce
from .splits import sample_indices, split_train_file
from .tags import count_illegal, detect_scheme, name_tag_ids, parse_tag_names, repair, to_scoring_tag, validate_tags
from .windows import Windows, stitch_predictions

logger = logging.getLogger(__name__)


def load_tagged_splits(data_args, output_dir: str, is_main_process: bool,
                       needed: tuple[bool, bool] = (True, True)) -> tuple[dict[str, TokenFile], dict]:
    """train/validation/test TokenFiles (splitting --train_file when a file is missing) and their tag report.

    Integer tag ids are named with --tag_names; tags are validated (unknown tags are errors), the scheme is detected,
    illegal sequences are counted per split and, with --fix_tags, repaired.
    """
    names = parse_tag_names(data_args.tag_names) if data_args.tag_names else None

    def read(path: str) -> TokenFile:
        token_file = read_token_file(path, data_args.data_format, data_args.tokens_column_name,
                                     data_args.tags_column_name)
        if names:
            name_tag_ids(token_file, names)
        return token_file
    files: dict[str, TokenFile] = {}
    if data_args.train_file:
        train = read(data_args.train_file)
        indices = split_train_file(data_args, [0] * len(train), output_dir, write=is_main_process, needed=needed)
        for name, ids in indices.items():
            if ids:
                files[name] = TokenFile(train.path, train.format, [train.sentences[i] for i in ids],
                                        train.raw_lines, train.token_lines)
    if data_args.validation_file:
        files["validation"] = read(data_args.validation_file)
    if data_args.test_file:
        files["test"] = read(data_args.test_file)
    limits = {"train": data_args.max_train_samples, "validation": data_args.max_eval_samples,
              "test": data_args.max_predict_samples}
    for name, token_file in files.items():
        validate_tags(token_file)
        keep = sample_indices(len(token_file.sentences), limits[name], data_args.split_seed)
        token_file.sentences = [token_file.sentences[i] for i in keep]
    reference = files.get("train") or next(iter(files.values()), None)
    scheme = data_args.tag_scheme or (detect_scheme([s.tags for s in reference.sentences]) if reference else "IOB2")
    report = {"scheme": scheme, "fixed": data_args.fix_tags, "illegal": {}}
    for name, token_file in files.items():
        counts = count_illegal([s.tags for s in token_file.sentences], scheme)
        report["illegal"][name] = {"tags": counts.illegal, "sentences": counts.sentences_with_illegal}
        if counts.illegal:
            logger.warning("%s (%s): %d illegal tag transitions (a continuation after O or another type) in %d "
                           "sentences: %s.", name, token_file.path, counts.illegal, counts.sentences_with_illegal,
                           "repaired (--fix_tags)" if data_args.fix_tags else
                           "scored as seqeval does by default; --fix_tags repairs them")
        if data_args.fix_tags:
            for sentence in token_file.sentences:
                sentence.tags = repair(sentence.tags, scheme)
    logger.info("Tag scheme: %s. Sentences: %s.", scheme, {k: len(v) for k, v in files.items()})
    return files, report


def tag_ids(sentences: list[TaggedSentence], label_to_id: dict[str, int]) -> list[list[int]] | None:
    """Label ids per token; a tag unseen in training gets -100 (ignored by the loss)."""
    if any(s.tags is None for s in sentences):
        return None
    return [[label_to_id.get(tag, -100) for tag in s.tags] for s in sentences]


def predicted_tags(windows: Windows, predicted_ids: np.ndarray, label_list: list[str]) -> list[list[str]]:
    return [[label_list[i] for i in ids] for ids in stitch_predictions(windows, predicted_ids)]


def score(sentences: list[TaggedSentence], predictions: list[list[str]], strict_scheme: str | None) -> dict:
    """Entity-level metrics on full-length sentences (BMES `M-` counted as `I-`)."""
    gold = [[to_scoring_tag(t) for t in s.tags] for s in sentences]
    pred = [[to_scoring_tag(t) for t in p] for p in predictions]
    return entity_metrics(gold, pred, strict_scheme)


def write_predictions(token_file: TokenFile, predictions: list[list[str]], path: str) -> str:
    """The input with a predicted-tag column added.

    A whole CoNLL file: line for line (sentence breaks and -DOCSTART- kept). Part of one (a split, or
    --max_predict_samples) or raw text: `token<TAB>[gold<TAB>]predicted` per line, blank line between sentences.
    JSON lines/csv input: one JSON object per input record with `predicted_tags` added.
    """
    by_line = {line: tag for s, tags in zip(token_file.sentences, predictions, strict=True)
               for line, tag in zip(s.lines, tags, strict=True)}
    with open(path, "w", encoding="utf-8") as handle:
        if token_file.format == "conll" and len(by_line) == token_file.token_lines:
            for number, raw in enumerate(token_file.raw_lines, start=1):
                separator = "\t" if "\t" in raw else " "
                handle.write(f"{raw}{separator}{by_line[number]}\n" if number in by_line else raw + "\n")
        elif token_file.format in ("conll", "text"):
            for sentence, tags in zip(token_file.sentences, predictions, strict=True):
                gold = sentence.tags or [None] * len(tags)
                for token, gold_tag, tag in zip(sentence.tokens, gold, tags, strict=True):
                    handle.write("\t".join([token, *([gold_tag] if gold_tag else []), tag]) + "\n")
                handle.write("\n")
        else:
            for sentence, tags in zip(token_file.sentences, predictions, strict=True):
                record = {"line": sentence.lines[0], "tokens": sentence.tokens, "predicted_tags": tags}
                if sentence.tags is not None:
                    record["tags"] = sentence.tags
                handle.write(json.dumps(record, ensure_ascii=False) + "\n")
    return announce(path)


def write_entity_report(metrics: dict, output_dir: str, prefix: str) -> None:
    """`<prefix>_entity_report.txt` (precision recall f1-score support per type) and `<prefix>_entities.json`."""
    with open(os.path.join(output_dir, f"{prefix}_entity_report.txt"), "w", encoding="utf-8") as handle:
        handle.write(metrics["report_text"])
    announce(os.path.join(output_dir, f"{prefix}_entity_report.txt"))
    with open(os.path.join(output_dir, f"{prefix}_entities.json"), "w", encoding="utf-8") as handle:
        json.dump(metrics["per_type"], handle, indent=2, ensure_ascii=False)
    announce(os.path.join(output_dir, f"{prefix}_entities.json"))
