"""Readers for the file formats we accept. Every record keeps the line number it came from.

We read files ourselves instead of `datasets.load_dataset`: its readers do not say which line of which file is
broken, and they silently coerce mixed column types.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import os
from dataclasses import dataclass, field

TABLE_FORMATS = ("jsonl", "json", "csv", "tsv")
_EXTENSION_FORMATS = {".jsonl": "jsonl", ".json": "json", ".csv": "csv", ".tsv": "tsv"}


def shown_values(values: list, first: int = 10) -> str:
    """A list in an error message: the first ten, and how many there are in all."""
    if len(values) <= first:
        return repr(values)
    return f"{values[:first]!r} ... ({len(values)} in all)"


class DataFormatError(ValueError):
    """Bad input data: the message names the file, the line and what to do."""


@dataclass
class Table:
    """Rows of a tabular file, each with its 1-based line number in the source file."""

    path: str
    rows: list[dict] = field(default_factory=list)
    line_numbers: list[int] = field(default_factory=list)
    skipped_lines: list[int] = field(default_factory=list)
    multiline_records: list[int] = field(default_factory=list)  # first lines of records that span several lines

    def __len__(self) -> int:
        return len(self.rows)

    def column(self, name: str) -> list:
        """Values of one column; a row without it is an error naming its line."""
        values = []
        for row, line in zip(self.rows, self.line_numbers, strict=True):
            value = row.get(name)
            if value is None or (isinstance(value, str) and not value.strip()):
                raise DataFormatError(
                    f"{self.path}, line {line}: column {name!r} is missing or empty. Fix or remove that line."
                )
            values.append(value)
        return values

    def columns(self) -> list[str]:
        """Every column name found in the file, in order of first appearance."""
        return list(dict.fromkeys(name for row in self.rows for name in row))

    def require_columns(self, *names: str, flags: str = "--text_column_name/--label_column_name") -> None:
        """Raise if a column is absent from the file altogether (lists the columns it does have)."""
        present = self.columns()
        missing = [name for name in names if name not in present]
        if missing:
            raise DataFormatError(
                f"{self.path}: no column {', '.join(repr(m) for m in missing)}. Columns found: "
                f"{shown_values(present)}. Choose them with {flags}."
            )

    def pick_column(self, wanted: str, default: str, fallbacks: tuple, flag: str) -> str:
        """`wanted` when present; if it is the default name and absent, the first present of `fallbacks` (a name, or
        an int: that column by position), as Hugging Face's example scripts pick columns. The choice is logged."""
        present = self.columns()
        if wanted in present or wanted != default:
            return wanted
        for fallback in fallbacks:
            name = fallback if isinstance(fallback, str) else (present[fallback] if fallback < len(present) else None)
            if name in present:
                logging.getLogger(__name__).info("%s: no column %r; using %r (set %s to choose).", self.path, wanted,
                                                 name, flag)
                return name
        return wanted


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
    """Open a UTF-8 file (a BOM is skipped); line ends are kept as written for the caller to strip.

    A directory, a binary file or bytes that are not UTF-8 are errors naming the path (and the line)."""
    if os.path.isdir(path):
        raise DataFormatError(f"{path} is a directory: give the data file inside it.")
    if not os.path.isfile(path):
        raise FileNotFoundError(f"{path}: no such file.")
    with open(path, "rb") as handle:
        content = handle.read()
    if b"\x00" in content[:65536]:
        raise DataFormatError(f"{path}: a binary file (it holds NUL bytes), not text. Give a UTF-8 text file "
                              "(jsonl, json, csv, tsv, CoNLL or plain lines).")
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = content.count(b"\n", 0, error.start) + 1
        raise DataFormatError(f"{path}, line {line}: not UTF-8 ({error.reason} at byte {error.start}). Convert the "
                              "file to UTF-8 (e.g. iconv -f GBK -t UTF-8).") from None
    return io.StringIO(text, newline="")  # read once; lines keep their ends, as open(newline="") gives them


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
    except json.JSONDecodeError as error:
        if text.lstrip().startswith("["):  # an array, not JSON lines: say where it breaks
            raise DataFormatError(
                f"{path}, line {error.lineno}: the JSON array is broken there ({error.msg}, column {error.colno}). "
                "Fix it, or write one JSON object per line (JSON lines)."
            ) from None
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


def _header(path: str, fields: list[str]) -> list[str]:
    header = [name.strip() for name in fields]
    duplicates = sorted({name for name in header if header.count(name) > 1})
    if duplicates:
        raise DataFormatError(f"{path}, line 1: the header names column(s) {duplicates} more than once; one would "
                              "silently overwrite the other. Rename them.")
    return header


def _add_row(table: Table, header: list[str], fields: list[str], line: int, hint: str) -> None:
    if len(fields) != len(header):
        raise DataFormatError(f"{table.path}, line {line}: {len(fields)} fields, but the header has {len(header)}. "
                              f"{hint}")
    table.rows.append(dict(zip(header, fields, strict=True)))
    table.line_numbers.append(line)


def read_tsv_lines(path: str) -> Table:
    """tsv as GLUE/CLUE files are meant to be read: one record per physical line, fields split on tabs, no quote
    processing (a text may begin with a quote that never closes)."""
    table = Table(path)
    with open_text(path) as handle:
        header = None
        for line_number, raw in enumerate(handle, start=1):
            line = raw.rstrip("\r\n")
            if header is None:
                header = _header(path, line.split("\t"))
                continue
            if not line.strip():
                continue
            _add_row(table, header, line.split("\t"), line_number,
                     "tsv records are one line each, fields separated by single tabs (pass --tsv_quoting for a tsv "
                     "file that quotes fields).")
        if header is None:
            raise DataFormatError(f"{path}: the file is empty (expected a header row).")
    return _check_not_empty(table)


def read_quoted(path: str, delimiter: str) -> Table:
    """csv (or tsv with --tsv_quoting) with standard quoting and a header row.

    A quoted field may hold newlines: such records are counted (`multiline_records`) and logged. A quote that never
    closes would swallow the rest of the file: it is an error naming the line where it opened."""
    table = Table(path)
    with open_text(path) as handle:
        reader = csv.reader(handle, delimiter=delimiter, strict=True)
        start_line = 1
        try:
            header = next(reader, None)
            if header is None:
                raise DataFormatError(f"{path}: the file is empty (expected a header row).")
            header = _header(path, header)
            start_line = reader.line_num + 1
            for fields in reader:
                end_line = reader.line_num
                if fields and any(f.strip() for f in fields):
                    _add_row(table, header, fields, start_line, "Quote fields that contain the delimiter.")
                    if end_line > start_line:
                        table.multiline_records.append(start_line)
                start_line = end_line + 1
        except csv.Error as error:
            raise DataFormatError(
                f"{path}, line {start_line}: {error}. A quote opened on line {start_line} never closes, so it would "
                "swallow the rest of the file. Close or remove the quote" + (", or read the file without quote "
                "processing (drop --tsv_quoting)." if delimiter == "\t" else ".")) from None
    if table.multiline_records:
        logging.getLogger(__name__).warning(
            "%s: %d records span several lines (quoted newlines), starting on lines %s.", path,
            len(table.multiline_records), ", ".join(map(str, table.multiline_records[:10])) +
            (f" (and {len(table.multiline_records) - 10} more)" if len(table.multiline_records) > 10 else ""))
    return _check_not_empty(table)


def read_table(path: str, data_format: str | None = None, skip_malformed: bool = False,
               tsv_quoting: bool = False) -> Table:
    """Read a jsonl/json/csv/tsv file (or `answer_question` lines, guessed for .txt) into a Table.

    tsv: one record per line, no quote processing, unless `tsv_quoting`; csv: standard quoting."""
    fmt = data_format or guess_format(path, known=(*TABLE_FORMATS, "txt"))
    if fmt in ("answer_question", "txt"):
        return read_answer_question_lines(path, skip_malformed)
    if fmt == "jsonl":
        return read_jsonl(path)
    if fmt == "json":
        return read_json(path)
    if fmt == "csv":
        return read_quoted(path, ",")
    if fmt == "tsv":
        return read_quoted(path, "\t") if tsv_quoting else read_tsv_lines(path)
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


def read_token_table(path: str, data_format: str, tokens_column: str, tags_column: str,
                     tagged: bool = True) -> TokenFile:
    """JSON lines / csv with a list of tokens and a list of tags per row (csv cells: JSON list or space-separated)."""
    table = read_table(path, data_format)
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
