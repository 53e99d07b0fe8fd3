"""What every reader shares: the error type, format guessing, reading a file as text once, and lists shown in
errors."""

from __future__ import annotations

import functools
import hashlib
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
    """The SHA-256 of a file's bytes: what ties a split or a checkpoint to the data it was made from. Computed once
    per file version (path, inode, size and modification time) in a process: a run asks for it several times, and a
    file of gigabytes is read from disk again each time once the run's memory has pushed it out of the page cache."""
    return _sha256(os.path.realpath(path), *file_version(path))


def file_version(path: str) -> tuple[int, int, int]:
    """What tells one version of a file from another without reading it: inode, size, modification time."""
    status = os.stat(path)
    return status.st_ino, status.st_size, status.st_mtime_ns


@functools.lru_cache(maxsize=32)
def _sha256(path: str, inode: int, size: int, modified_ns: int) -> str:
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


def refuse_unreadable(path: str) -> None:
    """A directory, a missing file or a binary file (NUL bytes in its first 64 KiB): errors naming the path."""
    if os.path.isdir(path):
        raise DataFormatError(f"{path} is a directory: give the data file inside it.")
    if not os.path.isfile(path):
        raise FileNotFoundError(f"{path}: no such file.")
    with open(path, "rb") as handle:
        if b"\x00" in handle.read(65536):
            raise DataFormatError(f"{path}: a binary file (it holds NUL bytes), not text. Give a UTF-8 text file "
                                  "(jsonl, json, csv, tsv, CoNLL or plain lines).")


def _not_utf8(path: str, error: UnicodeDecodeError, lines_read: int) -> DataFormatError:
    """The error for bytes that are not UTF-8, naming the first line that holds them (found again in bytes: the file
    is decoded block by block)."""
    with open(path, "rb") as handle:
        for line_number, raw in enumerate(handle, start=1):
            try:
                raw.decode("utf-8")
            except UnicodeDecodeError as in_line:
                return DataFormatError(f"{path}, line {line_number}: not UTF-8 ({in_line.reason} at byte "
                                       f"{in_line.start} of the line). Convert the file to UTF-8 (e.g. iconv -f GBK "
                                       "-t UTF-8).")
    return DataFormatError(f"{path}, after line {lines_read}: not UTF-8 ({error.reason}).")


class TextFile:
    """A UTF-8 text file read piece by piece (memory stays flat however large the file): iterating gives its lines
    with their ends as written (a lone CR ends a line too, as open(newline="") reads), `read()` all of it; a BOM is
    skipped. A directory, a binary file or bytes that are not UTF-8 are errors naming the path (and the line)."""

    def __init__(self, path: str):
        refuse_unreadable(path)
        self.path = path
        self._handle = open(path, encoding="utf-8-sig", newline="")  # noqa: SIM115 (closed by __exit__)

    def __enter__(self) -> TextFile:
        return self

    def __exit__(self, *exc_info) -> None:
        self._handle.close()

    def __iter__(self) -> Iterator[str]:
        number = 0
        try:
            for number, line in enumerate(self._handle, start=1):  # noqa: B007 (read in the handler)
                yield line
        except UnicodeDecodeError as error:
            raise _not_utf8(self.path, error, number) from None

    def read(self, size: int = -1) -> str:
        try:
            return self._handle.read(size)
        except UnicodeDecodeError as error:
            raise _not_utf8(self.path, error, 0) from None

    def readlines(self) -> list[str]:
        return list(self)


def open_text(path: str) -> TextFile:
    """Open a UTF-8 text file to read piece by piece (see TextFile); use it in a `with` block."""
    return TextFile(path)


def stream_lines(path: str) -> Iterator[tuple[int, str]]:
    """(line number, line without its end) of a UTF-8 text file, read piece by piece (see TextFile)."""
    with open_text(path) as handle:
        for number, line in enumerate(handle, start=1):
            yield number, line.rstrip("\r\n")
