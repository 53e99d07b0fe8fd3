"""Token classification over sentences of any length: overlapping windows in, one tag per original token out.

Nothing is truncated and nothing is dropped. A sentence longer than the model's window is cut into windows that
overlap by `doc_stride` tokens; each token's tag comes from the window where it has the most context on both sides
(as in extractive QA). A token the tokenizer turns into no sub-token at all (a space, U+00A0, a control character)
is fed as the unknown token, so it still gets a position and a prediction.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np
from datasets import Dataset
from transformers import PreTrainedTokenizerBase

from bertft_utils.errors import UsageError

logger = logging.getLogger(__name__)
IGNORE = -100


@dataclass
class Window:
    """One model input: a slice of one sentence between the special tokens.

    `words[p]` is the sentence word whose first sub-token sits at position p (None for special tokens and
    continuation sub-tokens): those are the positions whose predictions become the words' tags.
    """

    sentence: int
    input_ids: list[int]
    words: list[int | None]
    labels: list[int] | None = None

    def predicted_positions(self):
        """(position, word, context) for each word predicted here; context = tokens to the nearer window edge."""
        last = len(self.words) - 1
        return [(p, word, min(p, last - p)) for p, word in enumerate(self.words) if word is not None]


@dataclass
class Windows:
    """All windows of a split, in sentence order, and what the windowing had to do."""

    windows: list[Window] = field(default_factory=list)
    sentence_lengths: list[int] = field(default_factory=list)
    windowed_sentences: int = 0
    zero_token_words: int = 0
    edges_column: str | None = None  # set (to its column name) when the model needs each window's sentence edges

    def sentence_edges(self) -> list[list[int]]:
        """[starts, ends] per window: whether its predicted words include its sentence's first / last word."""
        edges = []
        for window in self.windows:
            words = [w for w in window.words if w is not None]
            edges.append([int(bool(words) and min(words) == 0),
                          int(bool(words) and max(words) == self.sentence_lengths[window.sentence] - 1)])
        return edges

    def dataset(self) -> Dataset:
        columns = {"input_ids": [w.input_ids for w in self.windows],
                   "attention_mask": [[1] * len(w.input_ids) for w in self.windows]}
        if self.windows and self.windows[0].labels is not None:
            columns["labels"] = [w.labels for w in self.windows]
        if self.edges_column:
            columns[self.edges_column] = self.sentence_edges()
        return Dataset.from_dict(columns)


def _special_tokens(tokenizer: PreTrainedTokenizerBase) -> tuple[list[int], list[int]]:
    """Special-token ids the tokenizer puts before and after one sequence ([CLS] / [SEP], <s> / </s>)."""
    probe = tokenizer(["x"], is_split_into_words=True, add_special_tokens=True)
    word_ids = probe.word_ids()
    before = next(p for p, w in enumerate(word_ids) if w is not None)
    after = next(p for p, w in enumerate(reversed(word_ids)) if w is not None)
    ids = probe["input_ids"]
    return ids[:before], ids[len(ids) - after:]


TOKENIZED_AT_ONCE = 10_000  # sentences whose encodings are held at a time; memory stays flat however large the split


def encode_windows(sentences: list[list[str]], tag_ids: list[list[int]] | None, tokenizer: PreTrainedTokenizerBase,
                   max_seq_length: int, doc_stride: int) -> Windows:
    """Tokenize pre-split sentences without truncation and cut them into windows of at most max_seq_length."""
    prefix, suffix = _special_tokens(tokenizer)
    before, after = len(prefix), len(suffix)
    content = min(max_seq_length, tokenizer.model_max_length) - before - after
    if not 0 <= doc_stride < content:
        raise UsageError(f"--doc_stride must be in [0, {content}) for --max_seq_length {max_seq_length}.")
    result = Windows()
    encoded, chunk_start = None, 0
    for s, words in enumerate(sentences):
        if s % TOKENIZED_AT_ONCE == 0:  # the tokenizer's encodings (offsets, tokens, word ids) of one chunk held
            encoded, chunk_start = tokenizer(sentences[s:s + TOKENIZED_AT_ONCE], is_split_into_words=True,
                                             add_special_tokens=False, verbose=False), s
        ids, word_ids = encoded["input_ids"][s - chunk_start], encoded.word_ids(s - chunk_start)
        missing = set(range(len(words))) - set(word_ids)
        if missing:  # zero-token words: feed the unknown token in their place
            result.zero_token_words += len(missing)
            patched = [tokenizer.unk_token if i in missing else w for i, w in enumerate(words)]
            again = tokenizer(patched, is_split_into_words=True, add_special_tokens=False)
            ids, word_ids = again["input_ids"], again.word_ids()
        first = [w is not None and (p == 0 or word_ids[p - 1] != w) for p, w in enumerate(word_ids)]
        result.sentence_lengths.append(len(words))
        start = 0
        windows_here = 0
        while True:
            end = min(start + content, len(ids))
            window_words = [word_ids[p] if first[p] else None for p in range(start, end)]
            labels = None
            if tag_ids is not None:
                labels = [IGNORE] * before + [IGNORE if w is None else tag_ids[s][w] for w in window_words] + [
                    IGNORE] * after
            result.windows.append(Window(s, prefix + ids[start:end] + suffix,
                                         [None] * before + window_words + [None] * after, labels))
            windows_here += 1
            if end >= len(ids):
                break
            start = end - doc_stride  # > start, as doc_stride < content
            while start < end and not first[start]:
                start += 1  # start each window on a word's first sub-token
        result.windowed_sentences += windows_here > 1
    if result.windowed_sentences:
        logger.info("%d of %d sentences are longer than %d tokens: split into %d overlapping windows in all "
                    "(stride %d); every token is still predicted.", result.windowed_sentences, len(sentences),
                    content, len(result.windows), doc_stride)
    if result.zero_token_words:
        logger.info("%d tokens have no sub-token in this tokenizer (spaces, control characters): fed as %s so "
                    "that they keep their tag and get a prediction.", result.zero_token_words, tokenizer.unk_token)
    return result


def best_positions(windows: Windows) -> list[list[tuple[int, int]]]:
    """For each word of every sentence, the (window, position) that gives it the most context on both sides (on a
    tie, the earlier window): where its prediction is read."""
    best_context = [[-1] * n for n in windows.sentence_lengths]
    chosen = [[(0, 0)] * n for n in windows.sentence_lengths]
    for row, window in enumerate(windows.windows):
        for position, word, context in window.predicted_positions():
            if context > best_context[window.sentence][word]:
                best_context[window.sentence][word] = context
                chosen[window.sentence][word] = (row, position)
    for sentence, contexts in enumerate(best_context):
        if min(contexts, default=0) < 0:  # cannot happen: every word's first sub-token lies in some window
            raise RuntimeError(f"sentence {sentence}: {contexts.count(-1)} words got no prediction")
    return chosen


def stitch_predictions(windows: Windows, predicted_ids: np.ndarray) -> list[list[int]]:
    """One predicted label id per word of every sentence ([windows, positions] ids in)."""
    return [[int(predicted_ids[row, position]) for row, position in words] for words in best_positions(windows)]


def stitch_scores(windows: Windows, scores: np.ndarray) -> list[np.ndarray]:
    """One row of label scores per word of every sentence ([windows, positions, labels] scores in)."""
    stitched = []
    for words in best_positions(windows):
        rows, positions = [row for row, _ in words], [position for _, position in words]
        stitched.append(scores[rows, positions].reshape(len(words), scores.shape[-1]))
    return stitched
