"""How well the tokenizer covers the training characters, and extending it with the characters it lacks.

An English checkpoint such as the embedded MiniLM knows 244 CJK characters: on Chinese text most characters
become the unknown token. `add_unknown_characters` adds each of them as a token and resizes the embeddings; the
new rows start at the mean of the pretrained embeddings and need a larger learning rate
(`--embedding_learning_rate`) to move.
"""

from __future__ import annotations

import itertools
import logging
import sys
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
from transformers import PreTrainedTokenizerBase

logger = logging.getLogger(__name__)


@dataclass
class CoverageReport:
    characters: int
    unknown_characters: int
    distinct_unknown: list[str]

    @property
    def unknown_fraction(self) -> float:
        return self.unknown_characters / self.characters if self.characters else 0.0

    def as_dict(self) -> dict:
        return {"characters": self.characters, "unknown_characters": self.unknown_characters,
                "unknown_fraction": round(self.unknown_fraction, 6),
                "distinct_unknown_characters": len(self.distinct_unknown)}


def character_coverage(tokenizer: PreTrainedTokenizerBase, texts: Iterable[str]) -> CoverageReport:
    """Fraction of (non-space) characters that the tokenizer maps to its unknown token, on their own."""
    counts = character_counts(texts)
    for character in [c for c in counts if c.isspace()]:
        del counts[character]
    unknown_id = tokenizer.unk_token_id
    distinct = list(counts)
    if unknown_id is None or not distinct:
        return CoverageReport(sum(counts.values()), 0, [])
    encoded = tokenizer(distinct, add_special_tokens=False)["input_ids"]
    unknown = [c for c, ids in zip(distinct, encoded, strict=True) if unknown_id in ids]
    return CoverageReport(sum(counts.values()), sum(counts[c] for c in unknown), sorted(unknown))


COUNTED_AT_ONCE = 100_000  # texts joined into one array of code points at a time


def character_counts(texts: Iterable[str]) -> dict[str, int]:
    """How often each character occurs in the texts, in code-point order. Counted by numpy over the texts' code
    points, a chunk of texts at a time (a Counter over the characters grew faster than the texts on millions)."""
    texts, counts = iter(texts), np.zeros(sys.maxunicode + 1, dtype=np.int64)
    while chunk := list(itertools.islice(texts, COUNTED_AT_ONCE)):
        code_points = np.frombuffer("".join(chunk).encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
        counts += np.bincount(code_points, minlength=len(counts))
    return {chr(code): int(counts[code]) for code in np.flatnonzero(counts).tolist()}


def report_coverage(tokenizer: PreTrainedTokenizerBase, texts: list[str], split: str = "training") -> CoverageReport:
    report = character_coverage(tokenizer, texts)
    logger.info("Vocabulary: %.2f%% of %s characters (%d of %d; %d distinct) map to %s.",
                100 * report.unknown_fraction, split, report.unknown_characters, report.characters,
                len(report.distinct_unknown), tokenizer.unk_token)
    if report.unknown_fraction > 0.05:
        logger.warning("Many characters are unknown to this tokenizer: consider --add_unk_chars (adds them as "
                       "tokens) or a checkpoint made for this language.")
    return report


def add_unknown_characters(tokenizer: PreTrainedTokenizerBase, model, characters: list[str]) -> int:
    """Add `characters` as tokens and resize the model's embeddings (new rows at the mean embedding)."""
    added = tokenizer.add_tokens(characters)
    if added:
        model.resize_token_embeddings(len(tokenizer), mean_resizing=True)
        logger.info("Added %d characters to the vocabulary (now %d tokens); they are saved with the model.",
                    added, len(tokenizer))
    return added


# Measured on MSRA (bench/msra_quality.py --probe): new rows need ~20x the learning rate of the pretrained layers.
NEW_TOKEN_LR_FACTOR = 20


def prepare_vocabulary(model_args, training_args, tokenizer: PreTrainedTokenizerBase, model,
                       train_texts: list[str] | None) -> tuple[CoverageReport | None, float | None]:
    """Report training-character coverage and, with --add_unk_chars, add the unknown ones.

    Returns the report (None without training data) and the learning rate for the embedding matrix:
    --embedding_learning_rate, else 20x --learning_rate when characters were added, else None (one rate for all).
    """
    report, added = None, 0
    if train_texts is not None:
        report = report_coverage(tokenizer, train_texts)
        if model_args.add_unk_chars:
            added = add_unknown_characters(tokenizer, model, report.distinct_unknown)
    rate = model_args.embedding_learning_rate
    if rate is None and added:
        rate = NEW_TOKEN_LR_FACTOR * training_args.learning_rate
        logger.info("New token rows need a larger step: the embedding matrix trains at %g (%dx --learning_rate; "
                    "set --embedding_learning_rate to change it).", rate, NEW_TOKEN_LR_FACTOR)
    return report, rate
