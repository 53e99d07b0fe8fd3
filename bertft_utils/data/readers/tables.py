"""Tables: jsonl, json, csv and tsv files as rows of named columns, each row with its line number."""

from __future__ import annotations

import csv
import json
import logging
from dataclasses import dataclass, field

from bertft_utils.data.readers.common import TABLE_FORMATS, DataFormatError, open_text, shown_values


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

    def column(self, name: str, empty_allowed: bool = False) -> list:
        """Values of one column; a row without it is an error naming its line (an empty cell too, unless
        `empty_allowed`: then it is "")."""
        values = []
        for row, line in zip(self.rows, self.line_numbers, strict=True):
            value = row.get(name)
            if empty_allowed and (value is None or (isinstance(value, str) and not value.strip())) and name in row:
                value = ""
            if value is None or (isinstance(value, str) and not value.strip() and not empty_allowed):
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



def check_not_empty(table: Table) -> Table:
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
    return check_not_empty(table)


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
    return check_not_empty(table)


def _header(path: str, fields: list[str]) -> list[str]:
    header = [name.strip() for name in fields]
    duplicates = sorted({name for name in header if header.count(name) > 1})
    if duplicates:
        raise DataFormatError(f"{path}, line 1: the header names column(s) {duplicates} more than once; one would "
                              "silently overwrite the other. Rename them.")
    return header


def _add_row(table: Table, header: list[str], fields: list[str], line: int, hint: str,
             fewer_allowed: bool = False) -> None:
    """A record; `fewer_allowed` (names given by --column_names): a line may stop before the last columns, which it
    then lacks (an error names the line if a column the run reads is one of them)."""
    if fewer_allowed and len(fields) < len(header):
        header = header[:len(fields)]
    if len(fields) != len(header):
        raise DataFormatError(f"{table.path}, line {line}: {len(fields)} fields, but the header has {len(header)}. "
                              f"{hint}")
    table.rows.append(dict(zip(header, fields, strict=True)))
    table.line_numbers.append(line)


def read_tsv_lines(path: str, column_names: list[str] | None = None) -> Table:
    """tsv as GLUE/CLUE files are meant to be read: one record per physical line, fields split on tabs, no quote
    processing (a text may begin with a quote that never closes). `column_names`: the file has no header row."""
    table = Table(path)
    with open_text(path) as handle:
        header = _header(path, column_names) if column_names else None
        for line_number, raw in enumerate(handle, start=1):
            line = raw.rstrip("\r\n")
            if header is None:
                header = _header(path, line.split("\t"))
                continue
            if not line.strip():
                continue
            _add_row(table, header, line.split("\t"), line_number,
                     "tsv records are one line each, fields separated by single tabs (pass --tsv_quoting for a tsv "
                     "file that quotes fields).", fewer_allowed=bool(column_names))
        if header is None:
            raise DataFormatError(f"{path}: the file is empty (expected a header row).")
    return check_not_empty(table)


def read_quoted(path: str, delimiter: str, column_names: list[str] | None = None) -> Table:
    """csv (or tsv with --tsv_quoting) with standard quoting and a header row (`column_names`: none, these names).

    A quoted field may hold newlines: such records are counted (`multiline_records`) and logged. A quote that never
    closes would swallow the rest of the file: it is an error naming the line where it opened."""
    table = Table(path)
    with open_text(path) as handle:
        reader = csv.reader(handle, delimiter=delimiter, strict=True)
        start_line = 1
        try:
            header = column_names or next(reader, None)
            if header is None:
                raise DataFormatError(f"{path}: the file is empty (expected a header row).")
            header = _header(path, header)
            start_line = reader.line_num + 1
            for fields in reader:
                end_line = reader.line_num
                if fields and any(f.strip() for f in fields):
                    _add_row(table, header, fields, start_line, "Quote fields that contain the delimiter.",
                             fewer_allowed=bool(column_names))
                    if end_line > start_line:
                        table.multiline_records.append(start_line)
                start_line = end_line + 1
        except csv.Error as error:
            raise DataFormatError(
                f"{path}, line {start_line}: {error}. A quote opened on line {start_line} never closes, so it would "
                "swallow the rest of the file. Close or remove the quote" + (", or read the file without quote "
                "processing (drop --tsv_quoting)." if delimiter == "\t" else ".")) from None
    if table.multiline_records:
        logging.getLogger(__name__).warning("%s: %d records span several lines (quoted newlines), starting on lines "
                                            "%s.", path, len(table.multiline_records),
                                            shown_values(table.multiline_records))
    return check_not_empty(table)


def read_table_file(path: str, data_format: str, tsv_quoting: bool = False,
                    column_names: list[str] | None = None) -> Table:
    """Read a file of one of TABLE_FORMATS. tsv: one record per line, no quote processing, unless `tsv_quoting`.
    csv/tsv: `column_names` for a file without a header row (every line a record)."""
    if column_names and data_format in ("jsonl", "json"):
        raise DataFormatError(f"{path}: --column_names names the columns of a csv/tsv file without a header; JSON "
                              "records name their own fields.")
    if data_format == "jsonl":
        return read_jsonl(path)
    if data_format == "json":
        return read_json(path)
    if data_format == "csv":
        return read_quoted(path, ",", column_names)
    if data_format == "tsv":
        return read_quoted(path, "\t", column_names) if tsv_quoting else read_tsv_lines(path, column_names)
    raise DataFormatError(f"{path}: unsupported format {data_format!r}; use one of {', '.join(TABLE_FORMATS)}, "
                          "answer_question.")
