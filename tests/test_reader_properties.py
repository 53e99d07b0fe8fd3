"""Property-based tests of every reader (Hypothesis): a file written in an accepted format is read back intact, record
for record; any other file is rejected with a DataFormatError naming the file. Never a traceback, never a merge."""

import csv
import io
import json
import os
import tempfile

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bertft_utils.data.readers import (
    DataFormatError,
    read_answer_question_lines,
    read_conll,
    read_table,
    read_text_lines,
    read_token_file,
)

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
# Everything a text may hold: CJK, emoji, U+00A0, U+3000, zero-width and control characters, quotes and tabs.
# NUL is the one exception: a file holding it is treated as binary (rejected).
SPECIAL = "\u00a0\u3000\u200b\u200d\ufeff\x1c\x1d\x85\u2028\"'\t,;\\"
CHARACTERS = st.one_of(
    st.characters(codec="utf-8", exclude_characters="\x00"),
    st.sampled_from(list(SPECIAL) + list("北京上海臺北市😀🇹🇼")),
)
TEXT = st.one_of(st.text(CHARACTERS, max_size=40), st.text(CHARACTERS, max_size=40).map(lambda t: '"' + t))
LONG_TEXT = st.text(CHARACTERS, min_size=0, max_size=3000)
LABEL = st.text(st.characters(codec="utf-8", categories=("L", "N")), min_size=1, max_size=8)
ENDING = st.sampled_from(["\n", "\r\n"])
BOM = st.sampled_from(["", "\ufeff"])


def write(name: str, content: str) -> str:
    folder = tempfile.mkdtemp()
    path = os.path.join(folder, name)
    with open(path, "w", encoding="utf-8", newline="") as handle:
        handle.write(content)
    return path


def no_line_break(text: str) -> str:
    return "".join(c for c in text if c not in "\r\n")


@SETTINGS
@given(st.lists(st.tuples(st.one_of(TEXT, LONG_TEXT), LABEL), min_size=1, max_size=12), ENDING, BOM,
       st.booleans())
def test_jsonl_round_trip(records, ending, bom, ascii_only):
    lines = [json.dumps({"text": t, "label": label}, ensure_ascii=ascii_only) for t, label in records]
    table = read_table(write("d.jsonl", bom + ending.join(lines) + ending))
    assert [(r["text"], r["label"]) for r in table.rows] == records
    assert list(table.line_numbers) == list(range(1, len(records) + 1))


@SETTINGS
@given(st.lists(st.tuples(TEXT, LABEL), min_size=1, max_size=12), st.booleans())
def test_json_array_round_trip(records, indent):
    content = json.dumps([{"text": t, "label": label} for t, label in records], ensure_ascii=False,
                         indent=1 if indent else None)
    table = read_table(write("d.json", content))
    assert [(r["text"], r["label"]) for r in table.rows] == records


@SETTINGS
@given(st.lists(st.tuples(st.one_of(TEXT, LONG_TEXT), LABEL), min_size=1, max_size=12), ENDING, BOM)
def test_csv_round_trip(records, ending, bom):
    buffer = io.StringIO()
    # minimal quoting quotes a field holding \r or \n only when both are in the line terminator
    writer = csv.writer(buffer, lineterminator=ending, quoting=csv.QUOTE_MINIMAL if ending == "\r\n" else
                        csv.QUOTE_ALL)
    writer.writerow(["text", "label"])
    writer.writerows(records)
    table = read_table(write("d.csv", bom + buffer.getvalue()))
    assert [(r["text"], r["label"]) for r in table.rows] == records
    assert len(table.multiline_records) == sum(("\n" in t or "\r" in t) for t, _ in records)


@SETTINGS
@given(st.lists(st.tuples(TEXT.map(no_line_break).map(lambda t: t.replace("\t", " ")), LABEL), min_size=1,
                max_size=12), ENDING, BOM)
def test_tsv_round_trip_one_record_per_line(records, ending, bom):
    content = bom + ending.join(["label\ttext"] + [f"{label}\t{t}" for t, label in records]) + ending
    table = read_table(write("d.tsv", content))
    assert [(r["text"], r["label"]) for r in table.rows] == records
    assert table.line_numbers == list(range(2, len(records) + 2))


TOKEN = st.text(CHARACTERS, min_size=1, max_size=4).map(no_line_break).map(lambda t: t.replace("\t", "")).filter(
    lambda t: t and not t.startswith("-DOCSTART-"))
TAG = st.sampled_from(["O", "B-PER", "I-PER", "B-LOC", "I-LOC", "M-ORG", "E-ORG", "S-LOC"])
SENTENCE = st.lists(st.tuples(TOKEN, TAG), min_size=1, max_size=30)


@SETTINGS
@given(st.lists(SENTENCE, min_size=1, max_size=6), ENDING, BOM)
def test_conll_and_msra_round_trip(sentences, ending, bom):
    blocks = [ending.join(f"{token}\t{tag}" for token, tag in sentence) for sentence in sentences]
    content = bom + (ending + ending).join(blocks) + ending
    token_file = read_conll(write("d.txt", content))
    assert [list(zip(s.tokens, s.tags, strict=True)) for s in token_file.sentences] == sentences
    assert token_file.token_lines == sum(len(s) for s in sentences)


@SETTINGS
@given(st.lists(SENTENCE, min_size=1, max_size=6))
def test_token_jsonl_round_trip(sentences):
    lines = [json.dumps({"tokens": [t for t, _ in s], "ner_tags": [g for _, g in s]}, ensure_ascii=False)
             for s in sentences]
    token_file = read_token_file(write("d.jsonl", "\n".join(lines) + "\n"))
    assert [list(zip(s.tokens, s.tags, strict=True)) for s in token_file.sentences] == sentences


ANSWER = st.text(st.characters(codec="utf-8", categories=("L", "N", "P", "S")), min_size=1, max_size=12).filter(
    lambda a: a == "".join(a.split()))
QUESTION = TEXT.map(no_line_break).map(str.strip).filter(lambda q: q and q == q.strip())


@SETTINGS
@given(st.lists(st.tuples(ANSWER, QUESTION, st.sampled_from([" ", "\u00a0 ", "\t", "  "])), min_size=1,
                max_size=12), ENDING, BOM)
def test_answer_question_lines_round_trip(records, ending, bom):
    content = bom + ending.join(f"{a}{separator}{q}" for a, q, separator in records) + ending
    table = read_answer_question_lines(write("qa.txt", content))
    assert [(r["answer"], r["question"]) for r in table.rows] == [(a, q) for a, q, _ in records]


@SETTINGS
@given(st.lists(TEXT.map(no_line_break), min_size=1, max_size=12), ENDING)
def test_raw_text_lines_every_character_is_a_token(lines, ending):
    if not any(line.strip() for line in lines):
        lines = [*lines, "x"]
    token_file = read_text_lines(write("raw.txt", ending.join(lines) + ending))
    assert [s.tokens for s in token_file.sentences] == [list(line) for line in lines if line.strip()]


ANY_CONTENT = st.text(st.one_of(CHARACTERS, st.sampled_from(list('"\n\r\t{}[],:'))), max_size=300)


@SETTINGS
@given(ANY_CONTENT, st.sampled_from(["d.jsonl", "d.json", "d.csv", "d.tsv", "d.txt"]))
def test_any_file_is_read_or_rejected_with_file_and_reason(content, name):
    path = write(name, content)
    try:
        if name.endswith(".txt"):
            result = read_conll(path)
            assert sum(len(s.tokens) for s in result.sentences) == result.token_lines
        else:
            table = read_table(path)
            assert len(table.rows) == len(table.line_numbers)
    except DataFormatError as error:
        assert path in str(error)
