"""Texts tokenized by the tokenizer's Rust backend straight into typed Arrow columns.

Why not the tokenizer's own call: transformers turns every encoding into Python lists of Python ints and `datasets`
then infers Arrow types from them again (int64 for every id, mask and type id); on a large split that conversion took
more time than the tokenizing itself (profiled on 855,000 headlines). Here the ids go into int32 arrays and the masks
into int8 ones. Each call checks a sample of its texts (the first ones and the longest) against the tokenizer's own
call and uses that call instead if anything differs, so a tokenizer that does more in Python keeps its behaviour.
"""

from __future__ import annotations

import gc
import itertools
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import xxhash
from datasets import Dataset
from datasets.table import InMemoryTable
from transformers import PreTrainedTokenizerBase

logger = logging.getLogger(__name__)

CHECKED_TEXTS = 64  # first texts and longest texts each, encoded both ways at every call
ID_TYPE, MASK_TYPE = pa.int32(), pa.int8()


@dataclass
class ArrowEncoding:
    """The model inputs of some texts as Arrow columns, and each text's number of tokens before any padding."""

    columns: dict[str, pa.Array]
    lengths: np.ndarray


def _backend(tokenizer: PreTrainedTokenizerBase, max_length: int, pad_to_max_length: bool):
    """A copy of the tokenizer's Rust backend set as transformers sets it for truncation="longest_first" at
    `max_length` (and padding to it); None for a tokenizer without one."""
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is None:
        return None
    backend = type(backend).from_str(backend.to_str())
    backend.enable_truncation(max_length=max_length, stride=0, strategy="longest_first",
                              direction=tokenizer.truncation_side)
    if pad_to_max_length:
        backend.enable_padding(length=max_length, direction=tokenizer.padding_side, pad_id=tokenizer.pad_token_id,
                               pad_type_id=tokenizer.pad_token_type_id, pad_token=tokenizer.pad_token)
    else:
        backend.no_padding()
    backend.encode_special_tokens = bool(getattr(tokenizer, "split_special_tokens", False))
    return backend


def segment_starts(lengths: np.ndarray) -> np.ndarray:
    """Where each of these consecutive segments starts, and the end of the last (list offsets, 64-bit)."""
    return np.concatenate([[0], np.cumsum(lengths, dtype=np.int64)])


def list_column(values: np.ndarray, offsets: np.ndarray) -> pa.Array:
    """Lists cut from one flat array at `offsets` (len + 1 of them), without copying the values; 64-bit offsets
    (a large list) only where 32-bit ones would overflow."""
    if offsets[-1] < 2**31:
        return pa.ListArray.from_arrays(pa.array(offsets.astype(np.int32)), pa.array(values))
    return pa.LargeListArray.from_arrays(pa.array(offsets.astype(np.int64)), pa.array(values))


def arrow_dataset(columns: dict[str, pa.Array]) -> Dataset:
    """A `datasets.Dataset` over these columns, sharing their buffers. `Dataset.from_dict` fingerprints a new table
    by pickling it whole, a transient copy of every column (gigabytes for millions of NER windows); the fingerprint
    here is an xxhash of the names, types and buffers, read in place."""
    digest = xxhash.xxh64()
    for name, column in columns.items():
        digest.update(f"{name}:{column.type}:{len(column)};".encode())
        for buffer in column.buffers():
            if buffer is not None:
                digest.update(memoryview(buffer))
    return Dataset(InMemoryTable(pa.table(columns)), fingerprint=digest.hexdigest())


def _list_array(rows: list[list[int]], lengths: np.ndarray, value_type: pa.DataType) -> pa.Array:
    offsets = segment_starts(lengths)
    return list_column(np.fromiter(itertools.chain.from_iterable(rows), dtype=value_type.to_pandas_dtype(),
                                   count=offsets[-1]), offsets)


def _constant_list_array(lengths: np.ndarray, value: int, value_type: pa.DataType) -> pa.Array:
    offsets = segment_starts(lengths)
    return list_column(np.full(offsets[-1], value, dtype=value_type.to_pandas_dtype()), offsets)


@contextmanager
def _no_cycle_collection() -> Iterator[None]:
    """The garbage collector paused: the lists of ids made here hold no cycles, yet each few hundred of them set off
    a collection (a third of the encoding time, measured on 400,000 headlines)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _direct(backend, tokenizer: PreTrainedTokenizerBase, texts: list[str], pairs: list[str] | None,
            pad_to_max_length: bool) -> ArrowEncoding:
    with _no_cycle_collection():
        return _direct_columns(backend, tokenizer, texts, pairs, pad_to_max_length)


def _direct_columns(backend, tokenizer: PreTrainedTokenizerBase, texts: list[str], pairs: list[str] | None,
                    pad_to_max_length: bool) -> ArrowEncoding:
    encodings = backend.encode_batch(texts if pairs is None else list(zip(texts, pairs, strict=True)),
                                     add_special_tokens=True)
    ids = [encoding.ids for encoding in encodings]
    widths = np.fromiter(map(len, ids), dtype=np.int64, count=len(ids))
    columns = {"input_ids": _list_array(ids, widths, ID_TYPE)}
    names = tokenizer.model_input_names
    if "token_type_ids" in names:
        columns["token_type_ids"] = (_constant_list_array(widths, 0, MASK_TYPE) if pairs is None and
                                     not pad_to_max_length else
                                     _list_array([e.type_ids for e in encodings], widths, MASK_TYPE))
    if pad_to_max_length:
        masks = [encoding.attention_mask for encoding in encodings]
        lengths = np.fromiter(map(sum, masks), dtype=np.int64, count=len(masks))
        if "attention_mask" in names:
            columns["attention_mask"] = _list_array(masks, widths, MASK_TYPE)
    else:
        lengths = widths
        if "attention_mask" in names:
            columns["attention_mask"] = _constant_list_array(widths, 1, MASK_TYPE)
    return ArrowEncoding(columns, lengths)


def _by_tokenizer_call(tokenizer: PreTrainedTokenizerBase, texts: list[str], pairs: list[str] | None,
                       max_length: int, pad_to_max_length: bool) -> dict[str, list]:
    return dict(tokenizer(texts, pairs, truncation="longest_first", max_length=max_length,
                          padding="max_length" if pad_to_max_length else False))


def _sample(texts: list[str], pairs: list[str] | None) -> list[int]:
    """The first texts and the longest (by characters, pairs by both texts): where truncation acts."""
    size = [len(t) + (len(pairs[i]) if pairs is not None else 0) for i, t in enumerate(texts)]
    longest = np.argsort(size, kind="stable")[-CHECKED_TEXTS:].tolist()
    return sorted(set(range(min(CHECKED_TEXTS, len(texts)))) | set(longest))


class ArrowEncoder:
    """Encodes texts (or sentence pairs, the longer cut first) cut to `max_length` (padded to it with
    `pad_to_max_length`) into the columns the tokenizer's own call gives, as Arrow arrays. The backend's copy is made
    once (it takes about as long as encoding a few thousand headlines); every call checks its sample."""

    def __init__(self, tokenizer: PreTrainedTokenizerBase, max_length: int, pad_to_max_length: bool):
        self.tokenizer, self.max_length, self.pad_to_max_length = tokenizer, max_length, pad_to_max_length
        self.backend = _backend(tokenizer, max_length, pad_to_max_length)

    def __call__(self, texts: list[str], pairs: list[str] | None = None) -> ArrowEncoding:
        tokenizer, max_length, padded = self.tokenizer, self.max_length, self.pad_to_max_length
        if self.backend is not None and texts:
            fast = _direct(self.backend, tokenizer, texts, pairs, padded)
            sample = _sample(texts, pairs)
            expected = _by_tokenizer_call(tokenizer, [texts[i] for i in sample],
                                          None if pairs is None else [pairs[i] for i in sample], max_length, padded)
            got = {name: column.take(pa.array(sample)).to_pylist() for name, column in fast.columns.items()}
            if got == expected:
                return fast
            logger.info("The tokenizer's Rust backend alone encodes differently from the tokenizer (%s): using the "
                        "tokenizer's own call, which is slower on large splits.", type(tokenizer).__name__)
        encoded = _by_tokenizer_call(tokenizer, texts, pairs, max_length, padded)
        masks = encoded.get("attention_mask")
        lengths = np.array([sum(mask) for mask in masks] if padded and masks is not None else
                           [len(ids) for ids in encoded["input_ids"]], dtype=np.int64)
        return ArrowEncoding({name: pa.array(values, type=pa.list_(ID_TYPE if name == "input_ids" else MASK_TYPE))
                              for name, values in encoded.items()}, lengths)
