"""CLUENER-style span JSON: one record per line, `{"text": "...", "label": {"TYPE": {"mention": [[start, end], ...]}}}`
with `end` inclusive, read as one sentence of characters tagged IOB2 (B-TYPE, I-TYPE, O); and tags turned back into
that form for prediction files a benchmark accepts.

Written here because no maintained library reads this format with line-numbered errors (`datasets` loads the JSON,
but checks neither the offsets against the mentions nor overlaps)."""

from __future__ import annotations

from bertft_utils.data.readers.common import DataFormatError
from bertft_utils.data.readers.tables import Table
from bertft_utils.data.readers.token_files import TaggedSentence, TokenFile

SPAN_FORMAT = "spans"


def looks_like_spans(table: Table, tokens_column: str) -> bool:
    """A JSON table of CLUENER records: no tokens column, and a `text` string (with a `label` object when labelled)."""
    if not table.rows or tokens_column in table.columns():
        return False
    first = table.rows[0]
    return isinstance(first.get("text"), str) and isinstance(first.get("label", {}), dict)


def read_span_table(table: Table, tagged: bool = True) -> TokenFile:
    """Every record as a sentence of characters; with `tagged`, its spans as IOB2 tags (a file where no record has a
    `label` is read untagged, as CLUENER's test file). Offsets that do not give the mention, and overlapping spans,
    are errors naming the line."""
    result = TokenFile(table.path, SPAN_FORMAT)
    labelled = tagged and any("label" in row for row in table.rows)
    for row, line in zip(table.rows, table.line_numbers, strict=True):
        text = row.get("text")
        if not isinstance(text, str) or not text:
            raise DataFormatError(f"{table.path}, line {line}: 'text' must be a non-empty string, got {text!r}.")
        tokens = list(text)
        tags = span_tags(text, row.get("label") or {}, f"{table.path}, line {line}") if labelled else None
        result.sentences.append(TaggedSentence(tokens, tags, [line] * len(tokens)))
        result.ids.append(row.get("id"))
    return result


def span_tags(text: str, label: dict, where: str) -> list[str]:
    """IOB2 tags of `text` from CLUENER's {type: {mention: [[start, end], ...]}} (end inclusive)."""
    if not isinstance(label, dict):
        raise DataFormatError(f"{where}: 'label' must be an object {{type: {{mention: [[start, end], ...]}}}}.")
    tags = ["O"] * len(text)
    owner: list[tuple | None] = [None] * len(text)
    for entity_type, mentions in label.items():
        if not isinstance(mentions, dict):
            raise DataFormatError(f"{where}: label {entity_type!r} must map each mention to its [[start, end], ...].")
        for mention, spans in mentions.items():
            for span in spans if isinstance(spans, list) else [spans]:
                if not (isinstance(span, list) and len(span) == 2 and all(isinstance(i, int) for i in span)):
                    raise DataFormatError(f"{where}: the span {span!r} of {entity_type} {mention!r} must be "
                                          "[start, end] (integers, end inclusive).")
                start, end = span
                if not 0 <= start <= end < len(text) or text[start:end + 1] != mention:
                    found = text[start:end + 1] if 0 <= start <= end < len(text) else "outside the text"
                    raise DataFormatError(f"{where}: {entity_type} {mention!r} at [{start}, {end}] reads {found!r} "
                                          "in the text (CLUENER offsets: start and end inclusive, in characters).")
                for i in range(start, end + 1):
                    if owner[i] is not None:
                        other = owner[i]
                        raise DataFormatError(f"{where}: {entity_type} {mention!r} at [{start}, {end}] overlaps "
                                              f"{other[0]} {other[1]!r} at [{other[2]}, {other[3]}]; a character "
                                              "takes one tag: keep one of the two.")
                    owner[i] = (entity_type, mention, start, end)
                tags[start] = f"B-{entity_type}"
                tags[start + 1:end + 1] = [f"I-{entity_type}"] * (end - start)
    return tags


def spans_from_tags(tokens: list[str], tags: list[str]) -> dict:
    """CLUENER's {type: {mention: [[start, end], ...]}} from character tags (B-/I-/E-/S-/M- prefixes; an entity
    starts at B-/S- or at an I- that does not continue the same type)."""
    label: dict[str, dict[str, list[list[int]]]] = {}
    start, current = None, None

    def close(end: int) -> None:
        if current is not None:
            mention = "".join(tokens[start:end + 1])
            label.setdefault(current, {}).setdefault(mention, []).append([start, end])

    for i, tag in enumerate(tags):
        prefix, _, entity_type = tag.partition("-")
        if tag == "O" or not entity_type:
            close(i - 1)
            start, current = None, None
        elif prefix in ("B", "S") or entity_type != current:
            close(i - 1)
            start, current = i, entity_type
        if prefix in ("E", "S") and current is not None:
            close(i)
            start, current = None, None
    close(len(tags) - 1)
    return label
