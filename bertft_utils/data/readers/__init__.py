"""Readers for the file formats we accept. Every record keeps the line number it came from.

We read files ourselves instead of `datasets.load_dataset`: its readers do not say which line of which file is broken,
and they silently coerce mixed column types. (Arrow's JSON reader, which `datasets` uses, reads JSON lines into columns
here only where it gives exactly what reading line by line gives: see `tables`.) One module per family: `tables`
(jsonl/json/csv/tsv), `token_files` (CoNLL, token lists, raw text for NER), `spans` (CLUENER span JSON), `answer_lines`
(answer-question lines); `common` holds the error type and how a file is opened."""

from __future__ import annotations

from bertft_utils.data.readers.answer_lines import read_answer_question_lines
from bertft_utils.data.readers.common import (
    TABLE_FORMATS,
    DataFormatError,
    file_sha256,
    guess_format,
    open_text,
    shown_values,
    stream_lines,
)
from bertft_utils.data.readers.tables import Table, read_json, read_jsonl, read_quoted, read_table_file, read_tsv_lines
from bertft_utils.data.readers.token_files import (
    TOKEN_FORMATS,
    TaggedSentence,
    TokenFile,
    count_text_lines,
    read_conll,
    read_text_lines,
    read_token_file,
    text_line_chunks,
)

__all__ = ["TABLE_FORMATS", "TOKEN_FORMATS", "DataFormatError", "Table", "TaggedSentence", "TokenFile",
           "count_text_lines", "file_sha256", "guess_format", "open_text", "read_answer_question_lines", "read_conll",
           "read_json", "read_jsonl", "read_quoted", "read_table", "read_table_file", "read_text_lines",
           "read_token_file", "read_tsv_lines", "shown_values", "stream_lines", "text_line_chunks"]


def read_table(path: str, data_format: str | None = None, skip_malformed: bool = False,
               tsv_quoting: bool = False, column_names: list[str] | None = None) -> Table:
    """Read a jsonl/json/csv/tsv file (or `answer_question` lines, guessed for .txt) into a Table.

    tsv: one record per line, no quote processing, unless `tsv_quoting`; csv: standard quoting; `column_names` for
    csv/tsv without a header row."""
    fmt = data_format or guess_format(path, known=(*TABLE_FORMATS, "txt"))
    if fmt in ("answer_question", "txt"):
        return read_answer_question_lines(path, skip_malformed)
    return read_table_file(path, fmt, tsv_quoting, column_names)
