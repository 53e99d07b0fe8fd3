"""Readers for the file formats we accept. Every record keeps the line number it came from.

We read files ourselves instead of `datasets.load_dataset`: its readers do not say which line of which file is
broken, and they silently coerce mixed column types.
"""

from __future__ import annotations

import csv
import json
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


def read_table(path: str, data_format: str | None = None) -> Table:
    """Read a jsonl/json/csv/tsv file into a Table."""
    fmt = data_format or guess_format(path)
    if fmt == "jsonl":
        return read_jsonl(path)
    if fmt == "json":
        return read_json(path)
    if fmt in ("csv", "tsv"):
        return read_delimited(path, "," if fmt == "csv" else "\t")
    raise DataFormatError(f"{path}: unsupported format {fmt!r}; use one of {', '.join(TABLE_FORMATS)}.")
