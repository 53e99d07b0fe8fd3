"""Readers for the file formats we accept. Every record keeps the line number it came from.

We read files ourselves instead of `datasets.load_dataset`: its readers do not say which line of which file is
broken, and they silently coerce mixed column types.
"""

from __future__ import annotations

import csv
import json
import logging
import os
from dataclasses import dataclass, field

TABLE_FORMATS = ("jsonl", "json", "csv", "tsv")
_EXTENSION_FORMATS = {".jsonl": "jsonl", ".json": "json", ".csv": "csv", ".tsv": "tsv"}


class DataFormatError(ValueError):
    """Bad input data: the message names the file, the line and what to do."""


@dataclass
class Table:
    """Rows of a tabular file, each with its 1-based line number in the source file."""

    path: str
    rows: list[dict] = field(default_factory=list)
    line_numbers: list[int] = field(default_factory=list)
    skipped_lines: list[int] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.rows)

    def column(self, name: str) -> list:
        """Values of one column; a row without it is an error naming its line."""
        values = []
        for row, line in zip(self.rows, self.line_numbers):
            value = row.get(name)
            if value is None or (isinstance(value, str) and not value.strip()):
                raise DataFormatError(
                    f"{self.path}, line {line}: column {name!r} is missing or empty. Fix or remove that line."
                )
            values.append(value)
        return values

    def require_columns(self, *names: str) -> None:
        """Raise if a column is absent from the file altogether (lists the columns it does have)."""
        present: set[str] = set()
        for row in self.rows:
            present.update(row)
        missing = [name for name in names if name not in present]
        if missing:
            raise DataFormatError(
                f"{self.path}: no column {', '.join(repr(m) for m in missing)}. Columns found: "
                f"{sorted(present)}. Choose them with --text_column_name/--label_column_name (or the task's "
                "equivalent)."
            )


def guess_format(path: str, known: tuple[str, ...] = TABLE_FORMATS, default: str | None = None) -> str:
    """Format from the file extension; `default` when the extension is not one of `known`."""
    ext = os.path.splitext(path)[1].lower()
    fmt = _EXTENSION_FORMATS.get(ext, ext.lstrip("."))
    if fmt in known:
        return fmt
    if default is not None:
        return default
    raise DataFormatError(
        f"{path}: cannot tell the format from the extension {ext!r}. Pass --data_format (one of {', '.join(known)})."
    )


def open_text(path: str):
    """Open a UTF-8 file (a BOM is skipped); line ends are kept as written for the caller to strip."""
    if not os.path.isfile(path):
        raise FileNotFoundError(f"{path}: no such file.")
    return open(path, encoding="utf-8-sig", newline="")


def _check_not_empty(table: Table) -> Table:
    if not table.rows:
        raise DataFormatError(f"{table.path}: the file has no records.")
    return table


def read_jsonl(path: str) -> Table:
    """JSON Lines: one object per line; blank lines are allowed and ignored; CRLF is fine."""
    table = Table(path)
    with open_text(path) as handle:
        for line_number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as error:
                raise DataFormatError(
                    f"{path}, line {line_number}: not valid JSON ({error.msg}, column {error.colno}). "
                    "Each line must hold one JSON object."
                ) from None
            if not isinstance(record, dict):
                raise DataFormatError(
                    f"{path}, line {line_number}: expected a JSON object, got {type(record).__name__}."
                )
            table.rows.append(record)
            table.line_numbers.append(line_number)
    return _check_not_empty(table)


def read_json(path: str) -> Table:
    """A `.json` file: a JSON array of objects (or {"data": [...]}), or JSON Lines (as the sarcasm file is)."""
    with open_text(path) as handle:
        text = handle.read()
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        return read_jsonl(path)
    if isinstance(data, list):
        records = data
    elif isinstance(data, dict) and isinstance(data.get("data"), list):
        records = data["data"]
    else:
        return read_jsonl(path)
    table = Table(path)
    for index, record in enumerate(records):
        if not isinstance(record, dict):
            raise DataFormatError(f"{path}: element {index} of the array is not a JSON object.")
        table.rows.append(record)
        table.line_numbers.append(index + 1)
    return _check_not_empty(table)


def read_delimited(path: str, delimiter: str) -> Table:
    """csv/tsv with a header row; a row with more or fewer fields than the header is an error."""
    table = Table(path)
    with open_text(path) as handle:
        reader = csv.reader(handle, delimiter=delimiter)
        header = next(reader, None)
        if header is None:
            raise DataFormatError(f"{path}: the file is empty (expected a header row).")
        header = [name.strip() for name in header]
        start_line = reader.line_num
        for fields in reader:
            line_number = reader.line_num
            if not fields or all(not f.strip() for f in fields):
                start_line = line_number
                continue
            if len(fields) != len(header):
                raise DataFormatError(
                    f"{path}, line {start_line + 1}: {len(fields)} fields, but the header has {len(header)}. "
                    "Quote fields that contain the delimiter."
                )
            table.rows.append(dict(zip(header, fields)))
            table.line_numbers.append(start_line + 1)
            start_line = line_number
    return _check_not_empty(table)


def read_table(path: str, data_format: str | None = None, skip_malformed: bool = False) -> Table:
    """Read a jsonl/json/csv/tsv file (or `answer_question` lines, guessed for .txt) into a Table."""
    fmt = data_format or guess_format(path, known=(*TABLE_FORMATS, "txt"))
    if fmt in ("answer_question", "txt"):
        return read_answer_question_lines(path, skip_malformed)
    if fmt == "jsonl":
        return read_jsonl(path)
    if fmt == "json":
        return read_json(path)
    if fmt in ("csv", "tsv"):
        return read_delimited(path, "," if fmt == "csv" else "\t")
    raise DataFormatError(f"{path}: unsupported format {fmt!r}; use one of {', '.join(TABLE_FORMATS)}, "
                          "answer_question.")


TOKEN_FORMATS = ("conll", "jsonl", "json", "csv")


@dataclass
class TaggedSentence:
    """Tokens of one sentence, their tags (None for untagged input) and where each token came from."""

    tokens: list[str]
    tags: list[str] | None
    lines: list[int]


@dataclass
class TokenFile:
    """Sentences of a token-level file, plus the raw lines to write predictions back in the same layout."""

    path: str
    format: str
    sentences: list[TaggedSentence] = field(default_factory=list)
    raw_lines: list[str] = field(default_factory=list)
    token_lines: int = 0

    def __len__(self) -> int:
        return len(self.sentences)


def _split_token_line(line: str) -> list[str]:
    """Columns of a CoNLL line: tab-separated if it has a tab (a token may then be a space), else whitespace."""
    return line.split("\t") if "\t" in line else line.split()


def read_conll(path: str, tagged: bool = True) -> TokenFile:
    """One token per line, tag in the last column; blank lines end sentences; -DOCSTART- lines are skipped.

    Covers MSRA (`char<TAB>tag`), People's Daily and CoNLL-2003 files. With `tagged=False`, one column is enough.
    """
    result = TokenFile(path, "conll")
    tokens: list[str] = []
    tags: list[str] = []
    lines: list[int] = []

    def close_sentence():
        if tokens:
            result.sentences.append(TaggedSentence(tokens.copy(), tags.copy() if tagged else None, lines.copy()))
            tokens.clear(), tags.clear(), lines.clear()

    with open_text(path) as handle:
        for line_number, raw in enumerate(handle, start=1):
            line = raw.rstrip("\r\n")
            result.raw_lines.append(line)
            if not line.strip() and "\t" not in line:
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
            tokens.append(columns[0])
            tags.append(columns[-1].strip())
            lines.append(line_number)
            result.token_lines += 1
    close_sentence()
    if not result.sentences:
        raise DataFormatError(f"{path}: no sentences found (expected token<TAB>tag lines).")
    return result


def _token_list(value, path: str, line: int, column: str) -> list[str]:
    if isinstance(value, str):
        value = json.loads(value) if value.lstrip().startswith("[") else value.split()
    if not isinstance(value, list) or not value:
        raise DataFormatError(f"{path}, line {line}: column {column!r} must be a non-empty list.")
    return [str(v) for v in value]


def read_token_table(path: str, data_format: str, tokens_column: str, tags_column: str,
                     tagged: bool = True) -> TokenFile:
    """JSON lines / csv with a list of tokens and a list of tags per row (csv cells: JSON list or space-separated)."""
    table = read_table(path, data_format)
    table.require_columns(*([tokens_column, tags_column] if tagged else [tokens_column]))
    result = TokenFile(path, data_format)
    for row, line in zip(table.rows, table.line_numbers):
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
    fmt = data_format or guess_format(path, known=("jsonl", "json", "csv"), default="conll")
    if fmt == "conll":
        return read_conll(path, tagged)
    if fmt in ("jsonl", "json", "csv"):
        return read_token_table(path, fmt, tokens_column, tags_column, tagged)
    raise DataFormatError(f"{path}: unsupported format {fmt!r}; use one of {', '.join(TOKEN_FORMATS)}.")


def read_text_lines(path: str, split: str = "char") -> TokenFile:
    """Raw text, one sentence per line, split into characters (`char`) or on whitespace (`whitespace`)."""
    result = TokenFile(path, "text")
    with open_text(path) as handle:
        for line_number, raw in enumerate(handle, start=1):
            line = raw.rstrip("\r\n")
            result.raw_lines.append(line)
            if not line.strip():
                continue
            tokens = list(line) if split == "char" else line.split()
            result.sentences.append(TaggedSentence(tokens, None, [line_number] * len(tokens)))
    if not result.sentences:
        raise DataFormatError(f"{path}: no text found.")
    return result


def read_answer_question_lines(path: str, skip_malformed: bool = False) -> Table:
    """`answer<whitespace>question` per line (Taipei QA): the first whitespace-delimited field is the answer and the
    rest of the line, inner spaces and U+00A0 included, is the question. Blank lines are ignored.

    A line without a question is an error naming the line, or with `skip_malformed` is counted and logged.
    """
    table = Table(path)
    skipped: list[int] = []
    with open_text(path) as handle:
        for line_number, raw in enumerate(handle, start=1):
            line = raw.rstrip("\r\n")
            if not line.strip():
                continue
            parts = line.split(None, 1)
            question = parts[1].strip() if len(parts) == 2 else ""
            if not question:
                if skip_malformed:
                    skipped.append(line_number)
                    continue
                raise DataFormatError(
                    f"{path}, line {line_number}: no question after the answer {parts[0]!r}. Each line must be "
                    "'answer question'. Fix the line, or pass --skip_malformed to skip (and count) such lines."
                )
            table.rows.append({"answer": parts[0].strip(), "question": question})
            table.line_numbers.append(line_number)
    if skipped:
        logging.getLogger(__name__).warning("%s: skipped %d malformed lines (no question): lines %s.", path,
                                            len(skipped), skipped[:20])
    table.skipped_lines = skipped
    return _check_not_empty(table)
