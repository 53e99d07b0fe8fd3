"""Token classification over sentences of any length: overlapping windows in, one tag per original token out.

Nothing is truncated and nothing is dropped. A sentence longer than the model's window is cut into windows that
overlap by `doc_stride` tokens; each token's tag comes from the window where it has the most context on both sides
(as in extractive QA). A token the tokenizer turns into no sub-token at all (a space, U+00A0, a control character)
is fed as the unknown token, so it still gets a position and a prediction.

The windows of a split are held as flat numpy arrays, a few bytes per token: as Python lists (a list of ids, of
words and of labels per window) millions of sentences took gigabytes more than the data they came from.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

import datasets
import numpy as np
from transformers import PreTrainedTokenizerBase

from bertft_utils.errors import UsageError
from bertft_utils.modeling.arrow_encoding import ID_TYPE, MASK_TYPE, arrow_dataset, list_column, segment_starts

logger = logging.getLogger(__name__)
IGNORE = -100
NO_WORD = -1  # in Windows.words: a position predicting no word (a special token, a word's later sub-token)
LABEL_TYPE = np.int32


@dataclass
class Window:
    """One model input as lists (what `Windows[i]` gives): a slice of one sentence between the special tokens.

    `words[p]` is the sentence word whose first sub-token sits at position p (None for special tokens and
    continuation sub-tokens): those are the positions whose predictions become the words' tags.
    """

    sentence: int
    input_ids: list[int]
    words: list[int | None]
    labels: list[int] | None = None


def _empty(dtype) -> np.ndarray:
    return np.zeros(0, dtype=dtype)


@dataclass
class Windows:
    """All windows of a split, in sentence order, and what the windowing had to do. Window i holds the positions
    `offsets[i]:offsets[i + 1]` of the flat arrays `input_ids`, `words` (NO_WORD where nothing is predicted) and
    `labels` (IGNORE there; None for untagged sentences); `sentence[i]` is the sentence it cuts."""

    sentence: np.ndarray = field(default_factory=lambda: _empty(np.int64))
    offsets: np.ndarray = field(default_factory=lambda: np.zeros(1, dtype=np.int64))
    input_ids: np.ndarray = field(default_factory=lambda: _empty(np.int32))
    words: np.ndarray = field(default_factory=lambda: _empty(np.int32))
    labels: np.ndarray | None = None
    sentence_lengths: np.ndarray = field(default_factory=lambda: _empty(np.int64))  # words per sentence
    windowed_sentences: int = 0
    zero_token_words: int = 0
    edges_column: str | None = None  # set (to its column name) when the model needs each window's sentence edges

    @classmethod
    def of(cls, windows: Sequence[Window], sentence_lengths: Sequence[int]) -> Windows:
        """Windows given as lists (tests, hand-made inputs)."""
        lengths = [len(w.input_ids) for w in windows]
        labelled = bool(windows) and windows[0].labels is not None
        return cls(np.array([w.sentence for w in windows], dtype=np.int64),
                   segment_starts(lengths),
                   np.array([i for w in windows for i in w.input_ids], dtype=np.int32),
                   np.array([NO_WORD if p is None else p for w in windows for p in w.words], dtype=np.int32),
                   np.array([v for w in windows for v in w.labels], dtype=LABEL_TYPE) if labelled else None,
                   np.asarray(sentence_lengths, dtype=np.int64))

    def __len__(self) -> int:
        return len(self.sentence)

    def __getitem__(self, index: int) -> Window:
        index = range(len(self))[index]  # IndexError past the end, as a list
        part = slice(self.offsets[index], self.offsets[index + 1])
        return Window(int(self.sentence[index]), self.input_ids[part].tolist(),
                      [None if w == NO_WORD else w for w in self.words[part].tolist()],
                      None if self.labels is None else self.labels[part].tolist())

    def window_lengths(self) -> np.ndarray:
        return np.diff(self.offsets)

    def sentence_edges(self) -> np.ndarray:
        """[starts, ends] per window (0/1): whether its predicted words include its sentence's first / last word."""
        lengths = self.window_lengths()
        if not len(self.words):
            return np.zeros((len(self), 2), dtype=np.int64)
        starts = np.minimum(self.offsets[:-1], len(self.words) - 1)  # reduceat needs an index in range
        lowest = np.minimum.reduceat(np.where(self.words == NO_WORD, np.iinfo(np.int32).max, self.words), starts)
        highest = np.maximum.reduceat(self.words, starts)
        predicts = (lengths > 0) & (highest != NO_WORD)
        return np.stack([predicts & (lowest == 0),
                         predicts & (highest == self.sentence_lengths[self.sentence] - 1)], axis=1).astype(np.int64)

    def dataset(self) -> datasets.Dataset:
        columns = {"input_ids": list_column(self.input_ids.astype(ID_TYPE.to_pandas_dtype(), copy=False), self.offsets),
                   "attention_mask": list_column(np.ones(len(self.input_ids), dtype=MASK_TYPE.to_pandas_dtype()),
                                                 self.offsets)}
        if self.labels is not None:
            columns["labels"] = list_column(self.labels, self.offsets)
        if self.edges_column:
            columns[self.edges_column] = list_column(self.sentence_edges().reshape(-1),
                                                     np.arange(0, 2 * len(self) + 1, 2, dtype=np.int64))
        return arrow_dataset(columns)


def _special_tokens(tokenizer: PreTrainedTokenizerBase) -> tuple[list[int], list[int]]:
    """Special-token ids the tokenizer puts before and after one sequence ([CLS] / [SEP], <s> / </s>)."""
    probe = tokenizer(["x"], is_split_into_words=True, add_special_tokens=True)
    word_ids = probe.word_ids()
    before = next(p for p, w in enumerate(word_ids) if w is not None)
    after = next(p for p, w in enumerate(reversed(word_ids)) if w is not None)
    ids = probe["input_ids"]
    return ids[:before], ids[len(ids) - after:]


TOKENIZED_AT_ONCE = 10_000  # sentences whose encodings are held at a time; memory stays flat however large the split


@dataclass
class _Layout:
    prefix: list[int]
    suffix: list[int]
    content: int  # sub-tokens of a sentence per window
    doc_stride: int


def encode_windows(sentences: Sequence[list[str]], tag_ids: Sequence[Sequence[int]] | None,
                   tokenizer: PreTrainedTokenizerBase, max_seq_length: int, doc_stride: int) -> Windows:
    """Tokenize pre-split sentences without truncation and cut them into windows of at most max_seq_length.
    `tag_ids[s]` (label ids per word, or None for untagged sentences) is asked for once per sentence, in order."""
    prefix, suffix = _special_tokens(tokenizer)
    content = min(max_seq_length, tokenizer.model_max_length) - len(prefix) - len(suffix)
    if not 0 <= doc_stride < content:
        raise UsageError(f"--doc_stride must be in [0, {content}) for --max_seq_length {max_seq_length}.")
    layout = _Layout(prefix, suffix, content, doc_stride)
    parts = []
    for first in range(0, len(sentences), TOKENIZED_AT_ONCE):  # one chunk's encodings held at a time
        chunk = range(first, min(first + TOKENIZED_AT_ONCE, len(sentences)))
        words = [sentences[s] for s in chunk]
        tags = None if tag_ids is None else [tag_ids[s] for s in chunk]
        if tags is not None:
            _check_tag_counts(words, tags, first)
        part = _encode_chunk(words, tags, tokenizer, layout)
        part.sentence += first
        parts.append(part)
    result = _concatenated(parts, tag_ids is not None)
    if result.windowed_sentences:
        logger.info("%d of %d sentences are longer than %d tokens: split into %d overlapping windows in all "
                    "(stride %d); every token is still predicted.", result.windowed_sentences, len(sentences),
                    content, len(result), doc_stride)
    if result.zero_token_words:
        logger.info("%d tokens have no sub-token in this tokenizer (spaces, control characters): fed as %s so "
                    "that they keep their tag and get a prediction.", result.zero_token_words, tokenizer.unk_token)
    return result


def _check_tag_counts(words: list[list[str]], tags: list[Sequence[int]], first: int) -> None:
    """One tag id per word (the readers guarantee it; a mismatch here would shift every later label)."""
    for s, (sentence_words, sentence_tags) in enumerate(zip(words, tags, strict=True)):
        if len(sentence_words) != len(sentence_tags):
            raise ValueError(f"sentence {first + s}: {len(sentence_words)} words but {len(sentence_tags)} tag ids")


def _flat(lists: Sequence[Sequence[int]], total: int, dtype=np.int64) -> np.ndarray:
    return np.fromiter(itertools.chain.from_iterable(lists), dtype=dtype, count=total)


def _encode_chunk(sentences: list[list[str]], tag_ids: list[Sequence[int]] | None,
                  tokenizer: PreTrainedTokenizerBase, layout: _Layout) -> Windows:
    """The windows of some sentences (their sentence numbers counted from 0)."""
    word_counts = np.fromiter(map(len, sentences), dtype=np.int64, count=len(sentences))
    encoded = tokenizer(sentences, is_split_into_words=True, add_special_tokens=False, verbose=False)
    ids = list(encoded["input_ids"])
    word_ids = [encoded.word_ids(i) for i in range(len(sentences))]
    token_counts, flat_ids, flat_words = _flattened(ids, word_ids)
    zero_token_words = 0
    patched_sentences = _sentences_missing_words(flat_words, token_counts, word_counts)
    for s in patched_sentences:  # zero-token words: fed as the unknown token
        missing = set(range(len(sentences[s]))) - set(word_ids[s])
        zero_token_words += len(missing)
        patched = [tokenizer.unk_token if i in missing else w for i, w in enumerate(sentences[s])]
        again = tokenizer(patched, is_split_into_words=True, add_special_tokens=False)
        ids[s], word_ids[s] = again["input_ids"], again.word_ids()
    if patched_sentences:
        token_counts, flat_ids, flat_words = _flattened(ids, word_ids)
    token_starts = segment_starts(token_counts)
    first = np.ones(len(flat_words), dtype=bool)  # a word's first sub-token: where its prediction is read
    first[1:] = flat_words[1:] != flat_words[:-1]
    first[token_starts[:-1][token_counts > 0]] = True
    window_sentence, window_start, window_end = _cuts(token_counts, token_starts, first, layout)
    # each window: the prefix, its slice of the sentence's sub-tokens, the suffix
    before, after = len(layout.prefix), len(layout.suffix)
    content_lengths = window_end - window_start
    offsets = segment_starts(content_lengths + before + after)
    step = np.arange(content_lengths.sum()) - np.repeat(segment_starts(content_lengths)[:-1], content_lengths)
    source = np.repeat(token_starts[window_sentence] + window_start, content_lengths) + step
    target = np.repeat(offsets[:-1] + before, content_lengths) + step
    input_ids = np.empty(offsets[-1], dtype=np.int32)
    input_ids[target] = flat_ids[source]
    for p, token in enumerate(layout.prefix):
        input_ids[offsets[:-1] + p] = token
    for p, token in enumerate(layout.suffix):
        input_ids[offsets[1:] - after + p] = token
    words = np.full(offsets[-1], NO_WORD, dtype=np.int32)
    words[target] = np.where(first[source], flat_words[source], NO_WORD)
    labels = None
    if tag_ids is not None:
        word_starts = segment_starts(word_counts)
        flat_tags = _flat(tag_ids, word_starts[-1], LABEL_TYPE)
        labels = np.full(offsets[-1], IGNORE, dtype=LABEL_TYPE)
        predicted = np.flatnonzero(words != NO_WORD)
        window_of = np.repeat(np.arange(len(window_sentence)), np.diff(offsets))
        labels[predicted] = flat_tags[word_starts[window_sentence[window_of[predicted]]] + words[predicted]]
    return Windows(window_sentence, offsets, input_ids, words, labels, word_counts,
                   windowed_sentences=int((token_counts > layout.content).sum()), zero_token_words=zero_token_words)


def _flattened(ids: list[list[int]], word_ids: list[list[int]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sub-tokens per sentence, and the sentences' ids and word numbers end to end."""
    token_counts = np.fromiter(map(len, ids), dtype=np.int64, count=len(ids))
    total = int(token_counts.sum())
    return token_counts, _flat(ids, total), _flat(word_ids, total)


def _sentences_missing_words(flat_words: np.ndarray, token_counts: np.ndarray, word_counts: np.ndarray) -> list[int]:
    """The sentences of which some word got no sub-token."""
    word_starts = segment_starts(word_counts)
    present = np.zeros(word_starts[-1], dtype=bool)
    present[np.repeat(word_starts[:-1], token_counts) + flat_words] = True
    covered = segment_starts(present)[word_starts]  # words with a sub-token, before each sentence
    return np.flatnonzero(np.diff(covered) < word_counts).tolist()


def _cuts(token_counts: np.ndarray, token_starts: np.ndarray, first: np.ndarray,
          layout: _Layout) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(sentence, first sub-token, end) of each window, in order: a sentence that fits is one window; a longer one
    is cut every `content` sub-tokens, the next window going back `doc_stride` and on to a word's first
    sub-token."""
    sentence, start, end = np.arange(len(token_counts)), np.zeros(len(token_counts), np.int64), token_counts.copy()
    long = np.flatnonzero(token_counts > layout.content)
    if not len(long):
        return sentence, start, end
    cuts = []
    for s in long.tolist():
        length, starts_word = int(token_counts[s]), first[token_starts[s]:token_starts[s + 1]]
        window_start = 0
        while True:
            window_end = min(window_start + layout.content, length)
            cuts.append((s, window_start, window_end))
            if window_end >= length:
                break
            window_start = window_end - layout.doc_stride  # > window_start, as doc_stride < content
            while window_start < window_end and not starts_word[window_start]:
                window_start += 1  # start each window on a word's first sub-token
    short = np.flatnonzero(token_counts <= layout.content)
    cut = np.array(cuts, dtype=np.int64).reshape(-1, 3)
    sentence = np.concatenate([short, cut[:, 0]])
    start, end = np.concatenate([start[short], cut[:, 1]]), np.concatenate([end[short], cut[:, 2]])
    order = np.lexsort((start, sentence))
    return sentence[order], start[order], end[order]


def _concatenated(parts: list[Windows], labelled: bool) -> Windows:
    if not parts:
        return Windows(labels=_empty(LABEL_TYPE) if labelled else None)
    if len(parts) == 1:
        return parts[0]
    shifts = np.cumsum([0, *[part.offsets[-1] for part in parts[:-1]]])
    for part, shift in zip(parts, shifts, strict=True):
        part.offsets = part.offsets[1:] + shift
    whole = Windows(windowed_sentences=sum(part.windowed_sentences for part in parts),
                    zero_token_words=sum(part.zero_token_words for part in parts))
    for name in ("sentence", "offsets", "input_ids", "words", "labels", "sentence_lengths"):
        if name == "labels" and not labelled:
            continue
        # one array at a time, each part's copy dropped once the whole one exists: never two copies of everything
        setattr(whole, name, np.concatenate([getattr(part, name) for part in parts]))
        for part in parts:
            setattr(part, name, None)
    whole.offsets = np.concatenate([[0], whole.offsets])
    return whole


def best_positions(windows: Windows) -> tuple[np.ndarray, np.ndarray]:
    """For each word of every sentence in order, the (window, position) that gives it the most context on both
    sides (on a tie, the earlier window): where its prediction is read. Two arrays, one entry per word."""
    lengths = windows.window_lengths()
    window_of = np.repeat(np.arange(len(windows)), lengths)
    position = np.arange(len(windows.words)) - np.repeat(windows.offsets[:-1], lengths)
    candidates = np.flatnonzero(windows.words != NO_WORD)
    context = np.minimum(position, lengths[window_of] - 1 - position)[candidates]
    word_starts = segment_starts(windows.sentence_lengths)
    word = word_starts[windows.sentence[window_of[candidates]]] + windows.words[candidates]
    order = np.lexsort((candidates, -context, word))
    word, candidates = word[order], candidates[order]
    best = np.ones(len(word), dtype=bool)
    best[1:] = word[1:] != word[:-1]
    word, chosen = word[best], candidates[best]
    if len(word) != word_starts[-1]:  # cannot happen: every word's first sub-token lies in some window
        covered = np.zeros(word_starts[-1], dtype=bool)
        covered[word] = True
        uncovered = np.diff(word_starts) - np.diff(segment_starts(covered)[word_starts])
        sentence = int(np.flatnonzero(uncovered)[0])
        raise RuntimeError(f"sentence {sentence}: {uncovered[sentence]} words got no prediction")
    return window_of[chosen], position[chosen]


def _per_sentence(values, windows: Windows) -> list:
    return np.split(values, segment_starts(windows.sentence_lengths)[1:-1])


def stitch_predictions(windows: Windows, predicted_ids: np.ndarray) -> list[list[int]]:
    """One predicted label id per word of every sentence ([windows, positions] ids in)."""
    rows, positions = best_positions(windows)
    return [ids.tolist() for ids in _per_sentence(np.asarray(predicted_ids)[rows, positions], windows)]


def stitch_scores(windows: Windows, scores: np.ndarray) -> list[np.ndarray]:
    """One row of label scores per word of every sentence ([windows, positions, labels] scores in)."""
    rows, positions = best_positions(windows)
    return _per_sentence(scores[rows, positions].reshape(len(rows), scores.shape[-1]), windows)
