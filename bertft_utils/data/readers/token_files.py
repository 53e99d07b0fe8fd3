"""Token files for NER: CoNLL/MSRA columns, token-list tables (jsonl/json/csv), CLUENER span JSON (`spans`) and raw
text to tag, as sentences whose every token keeps its line number."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from bertft_utils.data.readers.common import (
    DataFormatError,
    file_version,
    guess_format,
    open_text,
    stream_lines,
)
from bertft_utils.data.readers.tables import Table, read_table_file

TOKEN_FORMATS = ("conll", "jsonl", "json", "csv", "spans")


@dataclass(slots=True)
class TaggedSentence:
    """Tokens of one sentence, their tags (None for untagged input) and where each token came from (a range when
    the tokens are on consecutive lines, as in CoNLL files: no number held per token)."""

    tokens: list[str]
    tags: list[str] | None
    lines: Sequence[int]


@dataclass
class TokenFile:
    """Sentences of a token-level file; a CoNLL file's raw lines are read again to write predictions back in the
    same layout."""

    path: str
    format: str
    sentences: list[TaggedSentence] = field(default_factory=list)
    token_lines: int = 0
    ids: list = field(default_factory=list)  # span JSON: each record's `id` (None when it has none)
    version: tuple | None = None  # a CoNLL file's version when it was read (common.file_version)
    positions: list[int] | None = None  # each sentence's place among the file's (None: the file's own order)

    def position(self, index: int) -> int:
        """Where the `index`-th sentence of these stands among the file's sentences (0-based)."""
        return index if self.positions is None else self.positions[index]

    def __len__(self) -> int:
        return len(self.sentences)

    def raw_lines(self) -> Iterator[str]:
        """A CoNLL file's lines as written (ends stripped), read again from the file; nothing for other formats. A
        file changed since it was read is an error: its lines would no longer be those the sentences came from."""
        if self.format != "conll":
            return
        if file_version(self.path) != self.version:
            raise DataFormatError(f"{self.path} changed after this run read it: the predictions cannot be written "
                                  "line for line into it. Run again on a file that stays as it is during the run.")
        yield from (line for _, line in stream_lines(self.path))

    def subset(self, indices: list[int]) -> TokenFile:
        """These sentences only (predictions are still written in the file's layout)."""
        return TokenFile(self.path, self.format, [self.sentences[i] for i in indices], self.token_lines,
                         [self.ids[i] for i in indices] if self.ids else [], self.version,
                         [self.position(i) for i in indices])


def _split_token_line(line: str) -> list[str]:
    """Columns of a CoNLL line: tab-separated if it has a tab (a token may then be a space), else whitespace."""
    return line.split("\t") if "\t" in line else line.split()


def read_conll(path: str, tagged: bool = True) -> TokenFile:
    """One token per line, tag in the last column; blank lines (or lines of only TABs and spaces) end sentences;
    -DOCSTART- lines are skipped.

    Covers MSRA (`char<TAB>tag`), People's Daily and CoNLL-2003 files. With `tagged=False`, one column is enough.
    """
    result = TokenFile(path, "conll", version=file_version(path))
    tokens: list[str] = []
    tags: list[str] = []
    first_line = 0
    shared: dict[str, str] = {}  # one string object per distinct token and tag, not one per line

    def close_sentence():
        if tokens:
            result.sentences.append(TaggedSentence(tokens.copy(), tags.copy() if tagged else None,
                                                   range(first_line, first_line + len(tokens))))
            tokens.clear(), tags.clear()

    with open_text(path) as handle:
        for line_number, raw in enumerate(handle, start=1):
            line = raw.rstrip("\r\n")
            if not line.strip():  # blank, or only TABs and spaces: a sentence break (a space token has its tag)
                close_sentence()
                continue
            columns = _split_token_line(line)
            if columns[0].startswith("-DOCSTART-"):
                close_sentence()
                continue
            if tagged and len(columns) < 2:
                raise DataFormatError(
                    f"{path}, line {line_number}: expected a token and a tag separated by a tab or spaces, "
                    f"got {line!r}. Untagged text goes in with --predict_text_file."
                )
            if not tokens:
                first_line = line_number
            tokens.append(shared.setdefault(columns[0], columns[0]))
            tag = columns[-1].strip()
            tags.append(shared.setdefault(tag, tag))
            result.token_lines += 1
    close_sentence()
    if not result.sentences:
        raise DataFormatError(f"{path}: no sentences found (expected token<TAB>tag lines).")
    return result


def _token_list(value, path: str, line: int, column: str) -> list[str]:
    if isinstance(value, str):
        if value.lstrip().startswith("["):
            try:
                value = json.loads(value)
            except json.JSONDecodeError as error:
                raise DataFormatError(
                    f"{path}, line {line}: column {column!r} starts like a JSON list but does not parse ({error.msg}, "
                    f"column {error.colno}). Write a JSON list such as [\"a\", \"b\"] or space-separated tokens."
                ) from None
        else:
            value = value.split()
    if not isinstance(value, list) or not value:
        raise DataFormatError(f"{path}, line {line}: column {column!r} must be a non-empty list.")
    return [str(v) for v in value]


def read_token_table(table: Table, data_format: str, tokens_column: str, tags_column: str, tagged: bool) -> TokenFile:
    """JSON lines / csv with a list of tokens and a list of tags per row (csv cells: JSON list or space-separated)."""
    path = table.path
    # as Hugging Face's run_ner.py: 'tokens' else the first column, 'ner_tags' else the second
    tokens_column = table.pick_column(tokens_column, "tokens", (0,), "--tokens_column_name")
    tags_column = table.pick_column(tags_column, "ner_tags", (1,), "--tags_column_name")
    table.require_columns(*([tokens_column, tags_column] if tagged else [tokens_column]),
                          flags="--tokens_column_name/--tags_column_name (or HF's --text_column_name/"
                                "--label_column_name)")
    result = TokenFile(path, data_format)
    for row, line in zip(table.rows, table.line_numbers, strict=True):
        tokens = _token_list(row.get(tokens_column), path, line, tokens_column)
        tags = None
        if tagged:
            tags = _token_list(row.get(tags_column), path, line, tags_column)
            if len(tags) != len(tokens):
                raise DataFormatError(
                    f"{path}, line {line}: {len(tokens)} tokens but {len(tags)} tags. Each token needs one tag."
                )
        result.sentences.append(TaggedSentence(tokens, tags, [line] * len(tokens)))
    return result


def read_token_file(path: str, data_format: str | None = None, tokens_column: str = "tokens",
                    tags_column: str = "ner_tags", tagged: bool = True) -> TokenFile:
    """A token-level file in any supported format (guessed from the extension: .jsonl/.json/.csv, else conll)."""
    from bertft_utils.data.readers.spans import SPAN_FORMAT, looks_like_spans, read_span_table

    fmt = data_format or guess_format(path, known=("jsonl", "json", "csv"), default="conll")
    if fmt == "conll":
        return read_conll(path, tagged)
    if fmt in ("jsonl", "json", "csv", SPAN_FORMAT):
        table = read_table_file(path, "json" if fmt == SPAN_FORMAT else fmt)  # .json reads JSON lines too
        if fmt == SPAN_FORMAT or (fmt != "csv" and looks_like_spans(table, tokens_column)):
            return read_span_table(table, tagged)
        return read_token_table(table, fmt, tokens_column, tags_column, tagged)
    raise DataFormatError(f"{path}: unsupported format {fmt!r}; use one of {', '.join(TOKEN_FORMATS)}.")


def read_text_lines(path: str, split: str = "char") -> TokenFile:
    """Raw text, one sentence per line, split into characters (`char`) or on whitespace (`whitespace`); blank lines
    hold no sentence."""
    result = TokenFile(path, "text")
    for chunk in text_line_chunks(path, split):
        result.sentences += chunk.sentences
        result.ids += chunk.ids
    return result


def count_text_lines(path: str) -> tuple[int, int]:
    """(lines, sentences) of a raw text, read through once: every line checked (UTF-8), no sentence held; a file
    without text is refused."""
    lines = sentences = 0
    for _, line in stream_lines(path):
        lines += 1
        sentences += bool(line.strip())
    if not sentences:
        raise _no_text(path)
    return lines, sentences


def _no_text(path: str) -> DataFormatError:
    return DataFormatError(f"{path}: no text found.")


TEXT_CHUNK = 10_000  # sentences of a raw-text file held at a time when it is tagged piece by piece


def text_line_chunks(path: str, split: str = "char", size: int = TEXT_CHUNK) -> Iterator[TokenFile]:
    """read_text_lines piece by piece, for files too large to hold: TokenFiles of at most `size` sentences, each
    sentence's `ids` entry its position among the file's sentences. A file without text is refused at its end."""
    chunk, position = TokenFile(path, "text"), 0
    for number, line in stream_lines(path):
        if not line.strip():
            continue
        tokens = list(line) if split == "char" else line.split()
        chunk.sentences.append(TaggedSentence(tokens, None, [number] * len(tokens)))
        chunk.ids.append(position)
        position += 1
        if len(chunk.sentences) == size:
            yield chunk
            chunk = TokenFile(path, "text")
    if not position:
        raise _no_text(path)
    if chunk.sentences:
        yield chunk
