"""What every reader shares: the error type, format guessing, reading a file as text once, and lists shown in
errors."""

from __future__ import annotations

import hashlib
import io
import os
from collections.abc import Iterator

from bertft_utils.errors import UsageError

TABLE_FORMATS = ("jsonl", "json", "csv", "tsv")


def shown_values(values: list, first: int = 10) -> str:
    """A list in an error message: the first ten, and how many there are in all."""
    if len(values) <= first:
        return repr(values)
    return f"{values[:first]!r} ... ({len(values)} in all)"


class DataFormatError(UsageError):
    """Bad input data: the message names the file, the line and what to do."""


def file_sha256(path: str) -> str:
    """The SHA-256 of a file's bytes: what ties a split or a checkpoint to the data it was made from."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def guess_format(path: str, known: tuple[str, ...] = TABLE_FORMATS, default: str | None = None) -> str:
    """Format from the file extension; `default` when the extension is not one of `known`."""
    ext = os.path.splitext(path)[1].lower()
    fmt = ext.removeprefix(".")
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


def stream_lines(path: str) -> Iterator[tuple[int, str]]:
    """(line number, line without its end) of a UTF-8 file read piece by piece (a BOM skipped; lines end as
    open_text's do): for files too large to hold. The same refusals as open_text: a directory, a binary file, bytes
    that are not UTF-8 (with the line)."""
    if os.path.isdir(path):
        raise DataFormatError(f"{path} is a directory: give the data file inside it.")
    if not os.path.isfile(path):
        raise FileNotFoundError(f"{path}: no such file.")
    with open(path, "rb") as handle:
        if b"\x00" in handle.read(65536):
            raise DataFormatError(f"{path}: a binary file (it holds NUL bytes), not text. Give a UTF-8 text file "
                                  "(jsonl, json, csv, tsv, CoNLL or plain lines).")
    number = 0
    try:
        with open(path, encoding="utf-8-sig", newline="") as handle:
            for number, line in enumerate(handle, start=1):
                yield number, line.rstrip("\r\n")
    except UnicodeDecodeError as error:  # decoded block by block: the line is found again in bytes
        with open(path, "rb") as handle:
            for line_number, raw in enumerate(handle, start=1):
                try:
                    raw.decode("utf-8")
                except UnicodeDecodeError as in_line:
                    raise DataFormatError(f"{path}, line {line_number}: not UTF-8 ({in_line.reason} at byte "
                                          f"{in_line.start} of the line). Convert the file to UTF-8 (e.g. iconv -f "
                                          "GBK -t UTF-8).") from None
        raise DataFormatError(f"{path}, after line {number}: not UTF-8 ({error.reason}).") from None
