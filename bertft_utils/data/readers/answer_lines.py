"""Answer-question lines (Taipei QA): `answer<whitespace>question` per line, read into a Table."""

from __future__ import annotations

import logging

from bertft_utils.data.readers.common import DataFormatError, open_text, shown_values
from bertft_utils.data.readers.tables import Table, check_not_empty


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
                                            len(skipped), shown_values(skipped))
    table.skipped_lines = skipped
    return check_not_empty(table)
