"""Tables: jsonl, json, csv and tsv files as rows of named columns, each row with its line number."""

from __future__ import annotations

import csv
import json
import logging
import re
from collections.abc import Sequence

import pyarrow as pa

from bertft_utils.data.readers.common import (
    TABLE_FORMATS,
    DataFormatError,
    open_text,
    refuse_unreadable,
    shown_values,
)

logger = logging.getLogger(__name__)


class Table:
    """Records of a tabular file, each with its 1-based line number in the source file.

    Row readers fill `rows` (one dict per record); JSON lines read by Arrow are held as columns (`from_arrow`: every
    record has every column, no nulls) and become dicts only when `rows` is asked for. `column` reads both alike."""

    def __init__(self, path: str):
        self.path = path
        self.line_numbers: Sequence[int] = []
        self.skipped_lines: list[int] = []
        self.multiline_records: list[int] = []  # first lines of records that span several lines
        self._rows: list[dict] = []
        self._arrow: pa.Table | None = None
        self._columns: tuple[int, list[str]] | None = None  # (rows counted, names): rows are appended while read

    @classmethod
    def from_arrow(cls, path: str, arrow: pa.Table) -> Table:
        """A table of columns: record i on line i + 1 (the caller has checked that every line holds one record)."""
        table = cls(path)
        table._arrow, table.line_numbers = arrow, range(1, arrow.num_rows + 1)
        return table

    @property
    def rows(self) -> list[dict]:
        """The records as dicts (made once from the columns of an Arrow-read table)."""
        if self._arrow is not None and len(self._rows) != self._arrow.num_rows:
            self._rows = self._arrow.to_pylist()
        return self._rows

    def __len__(self) -> int:
        return self._arrow.num_rows if self._arrow is not None else len(self._rows)

    def cells(self, name: str) -> list:
        """Values of one column as read, None where a record lacks it."""
        if self._arrow is not None:
            return self._arrow[name].to_pylist() if name in self._arrow.column_names else [None] * len(self)
        return [row.get(name) for row in self._rows]

    def column(self, name: str, empty_allowed: bool = False) -> list:
        """Values of one column; a row without it is an error naming its line (an empty cell too, unless
        `empty_allowed`: then it is "")."""
        values = self.cells(name)
        if self._arrow is not None and name in self.columns() and not pa.types.is_string(self._arrow[name].type):
            return values  # Arrow-read columns hold no nulls: only strings can be blank
        for index in _blank_cells(values):
            if empty_allowed and (name in self._rows[index] if self._arrow is None else name in self.columns()):
                values[index] = ""
            else:
                raise DataFormatError(f"{self.path}, line {self.line_numbers[index]}: column {name!r} is missing or "
                                      "empty. Fix or remove that line.")
        return values

    def columns(self) -> list[str]:
        """Every column name found in the file, in order of first appearance."""
        if self._arrow is not None:
            return list(self._arrow.column_names)
        if self._columns is None or self._columns[0] != len(self._rows):
            self._columns = len(self._rows), list(dict.fromkeys(name for row in self._rows for name in row))
        return self._columns[1]

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


def _blank_cells(values: list) -> list[int]:
    """Indices of the cells that are None or blank strings."""
    try:
        if all(map(str.strip, values)):  # every cell a non-blank string, the usual case: one pass in C
            return []
    except TypeError:  # a cell that is not a string
        pass
    return [i for i, value in enumerate(values) if value is None or (isinstance(value, str) and not value.strip())]


def check_not_empty(table: Table) -> Table:
    if not len(table):
        raise DataFormatError(f"{table.path}: the file has no records.")
    return table


def read_jsonl(path: str) -> Table:
    """JSON Lines: one object per line; blank lines are allowed and ignored; CRLF is fine."""
    table = _json_lines_by_arrow(path)
    return check_not_empty(table if table is not None else _json_lines_one_by_one(path))


def _json_lines_one_by_one(path: str) -> Table:
    """JSON lines parsed line by line into dicts: any valid file, and errors that name the line."""
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
    return table


ARROW_BLOCK_BYTES = 16 << 20  # Arrow's JSON reader needs each line within one block (its default is 1 MiB)
SCAN_BLOCK_BYTES = 1 << 20
_BLANK_LINE_FIRST = re.compile(rb"[ \t\r]*\n")
_BLANK_LINE = re.compile(rb"\n[ \t\r]*\n")
_LONE_CR = re.compile(rb"\r(?!\n)")


def _json_lines_by_arrow(path: str) -> Table | None:
    """JSON lines read by Arrow into columns (C++, no Python dict per record: what a file of millions of records
    costs is in results/scale.md), where that gives exactly what reading line by line gives; None otherwise, and the
    line-by-line reader reads the file (and names the line that is wrong).

    Exactly: one object on every line (as many records as lines, no blank line, no lone CR, which Python ends a line
    with and Arrow reads as a space), every column in every record, no nulls, valid UTF-8, and strings, integers,
    booleans or lists of those only (Arrow reads 1 and 1.5 in one column both as floats; date-like strings, which it
    takes for timestamps, are read again as strings)."""
    import pyarrow.json as arrow_json

    refuse_unreadable(path)
    lines = _plain_line_count(path)
    if lines is None:
        return None
    options = arrow_json.ReadOptions(block_size=ARROW_BLOCK_BYTES)
    try:
        arrow = arrow_json.read_json(path, read_options=options)
        if any(pa.types.is_timestamp(field.type) for field in arrow.schema):  # date-like strings: read as strings
            schema = pa.schema([pa.field(field.name, pa.string()) if pa.types.is_timestamp(field.type) else field
                                for field in arrow.schema])
            arrow = arrow_json.read_json(path, read_options=options,
                                         parse_options=arrow_json.ParseOptions(explicit_schema=schema))
        arrow.validate(full=True)  # UTF-8 of every string
    except (pa.ArrowException, UnicodeDecodeError):
        return None
    if arrow.num_rows != lines or not all(_plain_column(arrow[name]) for name in arrow.column_names):
        return None
    logger.debug("%s: read by Arrow's JSON reader (%d records).", path, arrow.num_rows)
    return Table.from_arrow(path, arrow)


def _plain_line_count(path: str) -> int | None:
    """The lines of a file, or None if one of them is blank or it holds a lone CR. Read in blocks of whole lines."""
    lines, pending = 0, b""
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(SCAN_BLOCK_BYTES), b""):
            data = pending + block
            cut = data.rfind(b"\n") + 1
            whole, pending = data[:cut], data[cut:]
            if _BLANK_LINE_FIRST.match(whole) or _BLANK_LINE.search(whole) or _LONE_CR.search(whole):
                return None
            lines += whole.count(b"\n")
    if pending and (not pending.strip(b" \t\r") or _LONE_CR.search(pending + b"\n")):
        return None
    return lines + bool(pending)


def _plain_column(column: pa.ChunkedArray) -> bool:
    """A column whose values Arrow gives as json.loads would: strings, integers, booleans, or lists of them; no
    nulls (Arrow gives None for a record without the column too)."""
    def scalar(data_type: pa.DataType) -> bool:
        return pa.types.is_string(data_type) or pa.types.is_int64(data_type) or pa.types.is_boolean(data_type)

    if column.null_count:
        return False
    return scalar(column.type.value_type) if pa.types.is_list(column.type) else scalar(column.type)


def read_json(path: str) -> Table:
    """A `.json` file: a JSON array of objects (or {"data": [...]}), or JSON Lines (as the sarcasm file is)."""
    with open_text(path) as handle:
        starts_as_array = handle.read(4096).lstrip().startswith("[")
    if not starts_as_array:  # JSON lines, read by Arrow where it reads them exactly; {"data": [...]} is read below
        table = _json_lines_by_arrow(path)
        if table is not None and not (len(table) == 1 and isinstance(table.cells("data")[0], list)):
            return check_not_empty(table)
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
