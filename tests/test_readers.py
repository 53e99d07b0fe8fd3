import json
import os

import pytest

from bertft_utils.data.readers import DataFormatError, guess_format, read_table
from bertft_utils.data.readers.tables import read_table_file


def write(tmp_path, name, content, mode="w"):
    path = tmp_path / name
    if mode == "wb":
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return str(path)


def test_jsonl_with_crlf_and_extra_column_keeps_line_numbers(tmp_path):
    path = write(tmp_path, "a.json", b'{"headline": "a b", "is_sarcastic": 1, "article_link": "x"}\r\n\r\n'
                 b'{"headline": "c", "is_sarcastic": 0, "article_link": "y"}\r\n', "wb")
    table = read_table(path)
    assert table.column("headline") == ["a b", "c"]
    assert table.column("is_sarcastic") == [1, 0]
    assert table.line_numbers == [1, 3]


def test_broken_json_line_names_file_and_line(tmp_path):
    path = write(tmp_path, "b.jsonl", '{"text": "ok", "label": 1}\n{"text": "broken", "label": }\n')
    with pytest.raises(DataFormatError, match=r"b\.jsonl, line 2: not valid JSON"):
        read_table(path)


def test_json_array_file(tmp_path):
    path = write(tmp_path, "c.json", '[{"text": "x", "label": "a"}, {"text": "y", "label": "b"}]')
    assert read_table(path).column("label") == ["a", "b"]


def test_empty_file_and_missing_file(tmp_path):
    with pytest.raises(DataFormatError, match="has no records"):
        read_table(write(tmp_path, "empty.jsonl", "\n\n"))
    with pytest.raises(FileNotFoundError, match="no such file"):
        read_table(str(tmp_path / "absent.csv"))


def test_missing_column_lists_columns_found(tmp_path):
    table = read_table(write(tmp_path, "d.jsonl", '{"headline": "x", "is_sarcastic": 0}\n'))
    with pytest.raises(DataFormatError, match=r"no column 'text'.*Columns found: \['headline', 'is_sarcastic'\]"):
        table.require_columns("text", "is_sarcastic")


def test_empty_value_is_an_error_naming_the_line(tmp_path):
    table = read_table(write(tmp_path, "e.jsonl", '{"text": "x", "label": 0}\n{"text": "  ", "label": 1}\n'))
    with pytest.raises(DataFormatError, match=r"e\.jsonl, line 2: column 'text' is missing or empty"):
        table.column("text")


def test_csv_with_quoted_newline_and_tsv(tmp_path):
    table = read_table(write(tmp_path, "f.csv", 'text,label\n"multi\nline, text",1\nplain,0\n'))
    assert table.column("text") == ["multi\nline, text", "plain"]
    assert table.line_numbers == [2, 4]
    assert read_table(write(tmp_path, "g.tsv", "text\tlabel\nhello, world\tpos\n")).column("text") == ["hello, world"]


def test_csv_wrong_field_count_is_an_error(tmp_path):
    with pytest.raises(DataFormatError, match=r"h\.csv, line 3: 3 fields, but the header has 2"):
        read_table(write(tmp_path, "h.csv", "text,label\nok,1\nnot, ok,0\n"))


def test_unknown_extension_asks_for_data_format():
    with pytest.raises(DataFormatError, match="Pass --data_format"):
        guess_format("data.xyz")


def test_conll_reader_msra_tabs_docstart_and_space_token(tmp_path):
    from bertft_utils.data.readers import read_token_file

    content = "-DOCSTART- -X- O O\n\n北\tB-LOC\n京\tI-LOC\n \tO\n\u00a0\tO\n\n\nEU B-ORG\nrejects O\n"
    path = write(tmp_path, "m.txt", content)
    token_file = read_token_file(path)
    assert [s.tokens for s in token_file.sentences] == [["北", "京", " ", "\u00a0"], ["EU", "rejects"]]
    assert token_file.sentences[0].tags == ["B-LOC", "I-LOC", "O", "O"]
    assert list(token_file.sentences[1].lines) == [9, 10] and token_file.token_lines == 6


def test_conll_lines_of_only_whitespace_are_sentence_breaks(tmp_path):
    """Public corpora end sentences with a TAB-only (or spaces-only) line; a space token with its tag stays a token."""
    from bertft_utils.data.readers import read_token_file

    path = write(tmp_path, "w.txt", "北\tB-LOC\n京\tI-LOC\n\t\n \tO\n人\tO\n  \n\t \r\nEU\tB-ORG\n\t\t\n")
    token_file = read_token_file(path)
    assert [s.tokens for s in token_file.sentences] == [["北", "京"], [" ", "人"], ["EU"]]
    assert [list(s.lines) for s in token_file.sentences] == [[1, 2], [4, 5], [8]] and token_file.token_lines == 5


def test_token_jsonl_and_csv(tmp_path):
    from bertft_utils.data.readers import read_token_file

    jsonl = write(tmp_path, "t.jsonl", '{"tokens": ["a", "b"], "ner_tags": ["B-X", "O"]}\n')
    assert read_token_file(jsonl).sentences[0].tags == ["B-X", "O"]
    csv_path = write(tmp_path, "t.csv", 'tokens,ner_tags\n"[""a"", ""b""]",B-X O\n')
    assert read_token_file(csv_path).sentences[0].tokens == ["a", "b"]
    bad = write(tmp_path, "u.jsonl", '{"tokens": ["a", "b"], "ner_tags": ["O"]}\n')
    with pytest.raises(DataFormatError, match=r"u\.jsonl, line 1: 2 tokens but 1 tags"):
        read_token_file(bad)


def test_conll_line_without_tag(tmp_path):
    from bertft_utils.data.readers import read_token_file

    with pytest.raises(DataFormatError, match=r"n\.txt, line 2: expected a token and a tag"):
        read_token_file(write(tmp_path, "n.txt", "北\tB-LOC\n京\n"))


def test_answer_question_lines_with_nbsp(tmp_path):
    from bertft_utils.data.readers import read_answer_question_lines

    content = ("臺北市政府衛生局食品藥物管理科\u00a0 食品標示 怎麼看？\n\n"
               "臺北市政府勞動局勞動基準科 加班費\u00a0如何計算\u00a0？\r\n")
    table = read_answer_question_lines(write(tmp_path, "qa.txt", content))
    assert table.column("answer") == ["臺北市政府衛生局食品藥物管理科", "臺北市政府勞動局勞動基準科"]
    assert table.column("question") == ["食品標示 怎麼看？", "加班費\u00a0如何計算\u00a0？"]
    assert table.line_numbers == [1, 3]


def test_answer_without_question_is_an_error_or_skipped(tmp_path):
    from bertft_utils.data.readers import read_answer_question_lines

    path = write(tmp_path, "bad.txt", "部門甲 問題一\n部門乙\n部門甲 問題二\n")
    with pytest.raises(DataFormatError, match=r"bad\.txt, line 2: no question after the answer '部門乙'"):
        read_answer_question_lines(path)
    table = read_answer_question_lines(path, skip_malformed=True)
    assert len(table) == 2 and table.skipped_lines == [2]


def test_tsv_is_one_record_per_line_even_with_an_unclosed_quote(tmp_path):
    rows = ["label\ttext_a"] + [f'{i % 2}\t"quoted start {i}, no closing quote' for i in range(5)] + ['1\tplain "a" b']
    table = read_table(write(tmp_path, "reviews.tsv", "\n".join(rows) + "\n"))
    assert len(table) == 6 and table.line_numbers == [2, 3, 4, 5, 6, 7]
    assert table.column("text_a")[0] == '"quoted start 0, no closing quote'
    assert table.column("text_a")[5] == 'plain "a" b'


def test_tsv_with_quoting_on_request_and_an_unclosed_quote_names_its_line(tmp_path):
    path = write(tmp_path, "q.tsv", 'label\ttext\n1\t"a\tb"\n0\t"never closed\n1\tnext\n')
    with pytest.raises(DataFormatError, match=r"q\.tsv, line 3: .*A quote opened on line 3 never closes.*drop "
                                              "--tsv_quoting"):
        read_table(path, tsv_quoting=True)
    table = read_table(write(tmp_path, "ok.tsv", 'label\ttext\n1\t"a\tb"\n0\t"two\nlines"\n'), tsv_quoting=True)
    assert table.column("text") == ["a\tb", "two\nlines"] and table.multiline_records == [3]


def test_csv_unclosed_quote_is_an_error_and_multiline_records_are_counted(tmp_path):
    with pytest.raises(DataFormatError, match=r"u\.csv, line 3: .*A quote opened on line 3 never closes"):
        read_table(write(tmp_path, "u.csv", 'text,label\nfine,1\n"open quote,0\nmore,1\nrest,0\n'))
    table = read_table(write(tmp_path, "m.csv", 'text,label\n"a\nb\nc",1\nx,0\n"d\ne",1\n'))
    assert table.multiline_records == [2, 6] and table.line_numbers == [2, 5, 6]


@pytest.mark.parametrize(("name", "content"), [("d.csv", "text,label,text\na,1,b\n"), ("d.tsv", "text\ttext\na\tb\n")])
def test_duplicate_header_is_an_error(tmp_path, name, content):
    with pytest.raises(DataFormatError, match=r"line 1: the header names column\(s\) \['text'\] more than once"):
        read_table(write(tmp_path, name, content))


def test_broken_json_array_is_reported_at_its_line(tmp_path):
    content = '[\n  {"text": "a", "label": 1},\n  {"text": "b", "label": 0\n  {"text": "c", "label": 1}\n]\n'
    with pytest.raises(DataFormatError, match=r"arr\.json, line 4: the JSON array is broken there"):
        read_table(write(tmp_path, "arr.json", content))


def test_unparsable_json_list_in_a_csv_cell_names_file_and_line(tmp_path):
    from bertft_utils.data.readers import read_token_file

    path = write(tmp_path, "tokens.csv", 'tokens,ner_tags\n"[""a"", ""b""]","[""O"", ""O""]"\n"[""c"", oops]",O\n')
    with pytest.raises(DataFormatError, match=r"tokens\.csv, line 3: column 'tokens' starts like a JSON list but"):
        read_token_file(path)


def test_hf_conll_sample_columns_are_picked_as_hf_run_ner_picks_them(tmp_path, caplog):
    """transformers' own CoNLL test sample: JSON lines with `words` / `ner` columns."""
    from bertft_utils.data.readers import read_token_file

    rows = ['{"words": ["EU", "rejects", "German"], "ner": ["B-ORG", "O", "B-MISC"]}',
            '{"words": ["Peter", "Blackburn"], "ner": ["B-PER", "I-PER"]}']
    with caplog.at_level("INFO", logger="bertft_utils"):
        token_file = read_token_file(write(tmp_path, "sample.json", "\n".join(rows) + "\n"))
    assert [s.tokens for s in token_file.sentences] == [["EU", "rejects", "German"], ["Peter", "Blackburn"]]
    assert token_file.sentences[1].tags == ["B-PER", "I-PER"]
    assert "no column 'tokens'; using 'words'" in caplog.text and "no column 'ner_tags'; using 'ner'" in caplog.text
    with pytest.raises(DataFormatError, match="--tokens_column_name/--tags_column_name"):
        read_token_file(str(tmp_path / "sample.json"), tokens_column="toks")


def test_table_errors_name_the_flags_of_the_calling_script(tmp_path):
    table = read_table(write(tmp_path, "qa.csv", "q,a\nwhy,office\n"))
    with pytest.raises(DataFormatError, match=r"no column 'question'.*Columns found: \['q', 'a'\]. Choose them "
                                              "with --question_column_name/--answer_column_name"):
        table.require_columns("question", "answer", flags="--question_column_name/--answer_column_name")


def test_several_text_columns_are_joined_and_sentence_is_the_fallback(tmp_path):
    from bertft_utils.tasks.sequence import table_to_labeled_texts

    table = read_table(write(tmp_path, "two.csv", "title,body,label\nA title,and a body,1\nB,c,0\n"))
    texts = table_to_labeled_texts(table, "title,body", "label", True)
    assert texts.texts == ["A title and a body", "B c"] and texts.labels == ["1", "0"]
    glue = read_table(write(tmp_path, "glue.tsv", "sentence\tlabel\nit works\t1\n"))
    assert glue.pick_column("text", "text", ("sentence",), "--text_column_name") == "sentence"
    assert glue.pick_column("headline", "text", ("sentence",), "--text_column_name") == "headline"  # asked for


def test_predictions_tsv_round_trips_any_text(tmp_path):
    import csv

    import numpy as np

    from bertft_utils.evaluation.prediction_files import write_classification_predictions
    from bertft_utils.tasks.sequence import LabeledTexts

    texts = ['"quoted start', "tab\tinside", "two\nlines", 'both "a"\t\r\nb', "plain"]
    split = LabeledTexts(texts, ["0", "1", "0", "1", "0"], [("f.tsv", i + 2) for i in range(5)])
    probabilities = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4], [0.3, 0.7], [0.5, 0.5]])
    write_classification_predictions(split, probabilities, ["0", "1"], str(tmp_path))
    with open(tmp_path / "predictions.tsv", encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    assert [r["text"] for r in rows] == texts and [r["predicted"] for r in rows] == ["0", "1", "0", "1", "0"]


def message(error_info) -> str:
    return str(error_info.value)


def test_every_reader_error_message_in_full(tmp_path):
    """The whole message: file, line, what is wrong and what to do."""
    with pytest.raises(DataFormatError) as error:
        read_table(write(tmp_path, "b.jsonl", '{"a": 1}\n\n{"a": }\n'))
    assert message(error) == (f"{tmp_path}/b.jsonl, line 3: not valid JSON (Expecting value, column 7). Each line "
                              "must hold one JSON object.")
    with pytest.raises(DataFormatError) as error:
        read_table(write(tmp_path, "l.jsonl", '{"a": 1}\n[1, 2]\n'))
    assert message(error) == f"{tmp_path}/l.jsonl, line 2: expected a JSON object, got list."
    with pytest.raises(DataFormatError) as error:
        read_table(write(tmp_path, "e.json", '[{"a": 1}, 3]'))
    assert message(error) == f"{tmp_path}/e.json: element 1 of the array is not a JSON object."
    with pytest.raises(DataFormatError) as error:
        read_table(write(tmp_path, "arr.json", '[\n{"a": 1},\n{"a": 2}}\n]'))
    assert message(error) == (f"{tmp_path}/arr.json, line 3: the JSON array is broken there (Expecting ',' delimiter, "
                              "column 9). Fix it, or write one JSON object per line (JSON lines).")
    with pytest.raises(DataFormatError) as error:
        read_table(write(tmp_path, "f.csv", "a,b\n1,2\n3\n"))
    assert message(error) == (f"{tmp_path}/f.csv, line 3: 1 fields, but the header has 2. Quote fields that contain "
                              "the delimiter.")
    with pytest.raises(DataFormatError) as error:
        read_table(write(tmp_path, "f.tsv", "a\tb\n1\t2\t3\n"))
    assert message(error) == (f"{tmp_path}/f.tsv, line 2: 3 fields, but the header has 2. tsv records are one line "
                              "each, fields separated by single tabs (pass --tsv_quoting for a tsv file that quotes "
                              "fields).")
    with pytest.raises(DataFormatError) as error:
        read_table(write(tmp_path, "q.csv", 'a,b\n1,2\n"x,3\n'))
    assert message(error) == (f"{tmp_path}/q.csv, line 3: unexpected end of data. A quote opened on line 3 never "
                              "closes, so it would swallow the rest of the file. Close or remove the quote.")
    with pytest.raises(DataFormatError) as error:
        read_table(write(tmp_path, "h.csv", "a, b,a ,c\n1,2,3,4\n"))
    assert message(error) == (f"{tmp_path}/h.csv, line 1: the header names column(s) ['a'] more than once; one would "
                              "silently overwrite the other. Rename them.")
    for name in ("empty.csv", "empty.tsv"):
        with pytest.raises(DataFormatError) as error:
            read_table(write(tmp_path, name, ""))
        assert message(error) == f"{tmp_path}/{name}: the file is empty (expected a header row)."
    with pytest.raises(DataFormatError) as error:
        read_table(write(tmp_path, "header_only.csv", "a,b\n\n"))
    assert message(error) == f"{tmp_path}/header_only.csv: the file has no records."
    with pytest.raises(DataFormatError) as error:
        read_table(write(tmp_path, "x.tsv", "a\tb\n"), data_format="parquet")
    assert message(error) == (f"{tmp_path}/x.tsv: unsupported format 'parquet'; use one of jsonl, json, csv, tsv, "
                              "answer_question.")
    with pytest.raises(DataFormatError) as error:
        guess_format("data.XYZ")
    assert message(error) == ("data.XYZ: cannot tell the format from the extension '.xyz'. Pass --data_format (one "
                              "of jsonl, json, csv, tsv).")


def test_formats_from_extensions_and_explicit_formats(tmp_path):
    assert [guess_format(f"a{ext}") for ext in (".jsonl", ".JSON", ".csv", ".tsv")] == ["jsonl", "json", "csv", "tsv"]
    assert guess_format("a.txt", known=("conll",), default="conll") == "conll"
    assert guess_format("a.conll", known=("conll",)) == "conll"
    # .txt lines are answer-question lines for read_table; any format can be forced
    assert read_table(write(tmp_path, "qa.txt", "office question here\n")).rows == [
        {"answer": "office", "question": "question here"}]
    assert read_table(write(tmp_path, "qa.dat", "office q\n"), data_format="answer_question").column("question") == [
        "q"]
    assert read_table(write(tmp_path, "t.dat", "a\tb\n1\t2\n"), data_format="tsv").rows == [{"a": "1", "b": "2"}]
    assert read_table(write(tmp_path, "c.dat", "a,b\n1,2\n"), data_format="csv").rows == [{"a": "1", "b": "2"}]
    assert read_table(write(tmp_path, "j.dat", '{"a": 1}\n'), data_format="jsonl").rows == [{"a": 1}]
    assert read_table(write(tmp_path, "k.dat", '[{"a": 1}]'), data_format="json").rows == [{"a": 1}]
    quoted = write(tmp_path, "q.tsv", 'a\tb\n"x\ty"\t2\n')
    assert read_table(quoted, tsv_quoting=True).rows == [{"a": "x\ty", "b": "2"}]
    with pytest.raises(DataFormatError, match="3 fields"):
        read_table(quoted)


def test_json_shapes_and_line_numbers(tmp_path):
    table = read_table(write(tmp_path, "d.json", '{"data": [{"a": 1}, {"a": 2}]}'))
    assert table.rows == [{"a": 1}, {"a": 2}] and table.line_numbers == [1, 2]
    lines = read_table(write(tmp_path, "l.json", '{"a": 1}\n{"a": 2}\n'))  # JSON lines in a .json file
    assert lines.rows == [{"a": 1}, {"a": 2}] and list(lines.line_numbers) == [1, 2]
    single = read_table(write(tmp_path, "s.json", '  {"a": 1}'))  # one object, not an array: one record
    assert single.rows == [{"a": 1}] and list(single.line_numbers) == [1]
    with pytest.raises(DataFormatError, match="has no records"):
        read_table(write(tmp_path, "n.json", "[]"))
    with pytest.raises(DataFormatError, match=r"n2\.json, line 1: not valid JSON"):
        read_table(write(tmp_path, "n2.json", "{oops\n"))


def test_tsv_keeps_spaces_and_quotes_and_skips_blank_lines(tmp_path):
    table = read_table(write(tmp_path, "s.tsv", " a \tb\r\n x \t\"y\r\n\r\n\t\n2\t3"))
    assert table.rows == [{"a": " x ", "b": '"y'}, {"a": "2", "b": "3"}]  # whitespace-only lines are blank lines
    assert table.line_numbers == [2, 5]


def test_csv_blank_rows_and_line_numbers(tmp_path):
    table = read_table(write(tmp_path, "b.csv", "a,b\r\n1,2\r\n\r\n , \n3,4\n"))
    assert table.rows == [{"a": "1", "b": "2"}, {"a": "3", "b": "4"}] and table.line_numbers == [2, 5]
    assert table.multiline_records == []


def test_open_text_refuses_directories_binary_and_other_encodings(tmp_path):
    from bertft_utils.data.readers import open_text

    with pytest.raises(DataFormatError) as error:
        open_text(str(tmp_path))
    assert message(error) == f"{tmp_path} is a directory: give the data file inside it."
    with pytest.raises(FileNotFoundError) as missing:
        open_text(str(tmp_path / "nope.txt"))
    assert str(missing.value) == f"{tmp_path}/nope.txt: no such file."
    with pytest.raises(DataFormatError) as error:
        open_text(write(tmp_path, "bin.dat", b"ab\x00cd", "wb"))
    assert message(error) == (f"{tmp_path}/bin.dat: a binary file (it holds NUL bytes), not text. Give a UTF-8 text "
                              "file (jsonl, json, csv, tsv, CoNLL or plain lines).")
    with pytest.raises(DataFormatError) as error:
        open_text(write(tmp_path, "gbk.txt", "一\n二\n".encode() + "三".encode("gbk") + b"\n", "wb")).read()
    assert message(error) == (f"{tmp_path}/gbk.txt, line 3: not UTF-8 (invalid continuation byte at byte 0 of the "
                              "line). Convert the file to UTF-8 (e.g. iconv -f GBK -t UTF-8).")
    late_nul = write(tmp_path, "late.txt", b"a" * 65536 + b"\x00", "wb")  # only the first 64 KiB are looked at
    assert open_text(late_nul).read() == "a" * 65536 + "\x00"
    with open_text(write(tmp_path, "bom.txt", b"\xef\xbb\xbfx\r\ny\n", "wb")) as handle:
        assert handle.readlines() == ["x\r\n", "y\n"]  # BOM skipped, line ends kept as written


def test_columns_pick_and_require(tmp_path, caplog):
    from bertft_utils.data.readers import shown_values

    table = read_table(write(tmp_path, "c.jsonl", '{"x": 1, "y": 2}\n{"z": 3, "x": 4}\n'))
    assert table.columns() == ["x", "y", "z"]
    with caplog.at_level("INFO", logger="bertft_utils"):
        assert table.pick_column("text", "text", ("nope", 1), "--flag") == "y"
        assert "no column 'text'; using 'y' (set --flag to choose)" in caplog.text
    assert table.pick_column("x", "text", ("y",), "--flag") == "x"  # present: taken
    assert table.pick_column("asked", "text", ("y",), "--flag") == "asked"  # not the default: no fallback
    assert table.pick_column("text", "text", (7, "nope"), "--flag") == "text"  # no fallback present
    assert table.pick_column("text", "text", (0,), "--flag") == "x"
    with pytest.raises(DataFormatError) as error:
        table.require_columns("x", "a", "b")
    assert message(error) == (f"{tmp_path}/c.jsonl: no column 'a', 'b'. Columns found: ['x', 'y', 'z']. Choose them "
                              "with --text_column_name/--label_column_name.")
    table.require_columns("x", "z")
    with pytest.raises(DataFormatError) as error:
        table.column("y")
    assert message(error) == f"{tmp_path}/c.jsonl, line 2: column 'y' is missing or empty. Fix or remove that line."
    assert table.column("x") == [1, 4] and len(table) == 2
    assert shown_values(list(range(10))) == repr(list(range(10)))
    assert shown_values(list(range(11))) == "[0, 1, 2, 3, 4, 5, 6, 7, 8, 9] ... (11 in all)"
    assert shown_values([1, 2, 3], first=2) == "[1, 2] ... (3 in all)"


def test_answer_lines_in_full(tmp_path, caplog):
    from bertft_utils.data.readers import read_answer_question_lines

    path = write(tmp_path, "qa.txt", "  office  a question \r\n\n \nlonely\nother q2\n")
    with pytest.raises(DataFormatError) as error:
        read_answer_question_lines(path)
    assert message(error) == (f"{path}, line 4: no question after the answer 'lonely'. Each line must be 'answer "
                              "question'. Fix the line, or pass --skip_malformed to skip (and count) such lines.")
    with caplog.at_level("WARNING", logger="bertft_utils"):
        table = read_answer_question_lines(path, skip_malformed=True)
    assert table.rows == [{"answer": "office", "question": "a question"}, {"answer": "other", "question": "q2"}]
    assert table.line_numbers == [1, 5] and table.skipped_lines == [4]
    assert f"{path}: skipped 1 malformed lines (no question): lines [4]." in caplog.text
    clean = read_answer_question_lines(write(tmp_path, "ok.txt", "a b\n"))
    assert clean.skipped_lines == []
    with pytest.raises(DataFormatError, match="has no records"):
        read_answer_question_lines(write(tmp_path, "none.txt", "lonely\n"), skip_malformed=True)


def test_conll_in_full(tmp_path):
    from bertft_utils.data.readers import read_conll, read_token_file

    path = write(tmp_path, "c.txt", "a B-X\r\nb  I-X \n\t\n-DOCSTART-\tO\nc\tO\n\n\nd\tx\tO\n")
    token_file = read_conll(path)
    assert [(s.tokens, s.tags, list(s.lines)) for s in token_file.sentences] == [
        (["a", "b"], ["B-X", "I-X"], [1, 2]), (["c"], ["O"], [5]), (["d"], ["O"], [8])]  # a TAB-only line: a break
    assert list(token_file.raw_lines()) == ["a B-X", "b  I-X ", "\t", "-DOCSTART-\tO", "c\tO", "", "", "d\tx\tO"]
    assert token_file.token_lines == 4 and token_file.format == "conll" and len(token_file) == 3
    untagged = read_conll(write(tmp_path, "u.txt", "a\nb\n\nc\n"), tagged=False)
    assert [(s.tokens, s.tags) for s in untagged.sentences] == [(["a", "b"], None), (["c"], None)]
    with pytest.raises(DataFormatError) as error:
        read_conll(write(tmp_path, "one.txt", "a B\nb\n"))
    assert message(error) == (f"{tmp_path}/one.txt, line 2: expected a token and a tag separated by a tab or spaces, "
                              "got 'b'. Untagged text goes in with --predict_text_file.")
    with pytest.raises(DataFormatError) as error:
        read_conll(write(tmp_path, "blank.txt", "\n-DOCSTART- O\n\n"))
    assert message(error) == f"{tmp_path}/blank.txt: no sentences found (expected token<TAB>tag lines)."
    assert read_token_file(path, data_format="conll").sentences[1].tokens == ["c"]
    with pytest.raises(DataFormatError) as error:
        read_token_file(path, data_format="tsv")
    assert message(error) == f"{path}: unsupported format 'tsv'; use one of conll, jsonl, json, csv, spans."


def test_token_tables_in_full(tmp_path):
    from bertft_utils.data.readers import read_token_file

    path = write(tmp_path, "t.jsonl", '{"tokens": ["a", 1], "ner_tags": ["O", "B-X"]}\n\n'
                                      '{"tokens": "c d", "ner_tags": " [\\"O\\", \\"O\\"]"}\n')
    token_file = read_token_file(path)
    assert [(s.tokens, s.tags, list(s.lines)) for s in token_file.sentences] == [
        (["a", "1"], ["O", "B-X"], [1, 1]), (["c", "d"], ["O", "O"], [3, 3])]
    assert token_file.format == "jsonl" and list(token_file.raw_lines()) == [] and token_file.token_lines == 0
    untagged = read_token_file(write(tmp_path, "u.jsonl", '{"tokens": ["a"]}\n'), tagged=False)
    assert untagged.sentences[0].tags is None and untagged.sentences[0].tokens == ["a"]
    named = read_token_file(write(tmp_path, "n.json", '[{"w": ["a"], "t": ["O"], "x": 1}]'), tokens_column="w",
                            tags_column="t")
    assert named.sentences[0].tokens == ["a"] and named.format == "json"
    with pytest.raises(DataFormatError) as error:
        read_token_file(write(tmp_path, "e.jsonl", '{"tokens": [], "ner_tags": []}\n'))
    assert message(error) == f"{tmp_path}/e.jsonl, line 1: column 'tokens' must be a non-empty list."
    with pytest.raises(DataFormatError) as error:
        read_token_file(write(tmp_path, "m.jsonl", '{"tokens": ["a", "b"], "ner_tags": "O"}\n'))
    assert message(error) == f"{tmp_path}/m.jsonl, line 1: 2 tokens but 1 tags. Each token needs one tag."
    with pytest.raises(DataFormatError) as error:
        read_token_file(write(tmp_path, "j.csv", 'tokens,ner_tags\n"[a]",O\n'))
    assert message(error) == (f"{tmp_path}/j.csv, line 2: column 'tokens' starts like a JSON list but does not parse "
                              "(Expecting value, column 2). Write a JSON list such as [\"a\", \"b\"] or "
                              "space-separated tokens.")
    with pytest.raises(DataFormatError) as error:
        read_token_file(write(tmp_path, "d.jsonl", '{"tokens": {"a": 1}, "ner_tags": ["O"]}\n'))
    assert message(error) == f"{tmp_path}/d.jsonl, line 1: column 'tokens' must be a non-empty list."
    with pytest.raises(DataFormatError) as error:
        read_token_file(write(tmp_path, "one.jsonl", '{"words": ["a"]}\n'))
    assert message(error) == (f"{tmp_path}/one.jsonl: no column 'ner_tags'. Columns found: ['words']. Choose them "
                              "with --tokens_column_name/--tags_column_name (or HF's --text_column_name/"
                              "--label_column_name).")


def test_text_lines_and_subsets(tmp_path):
    from bertft_utils.data.readers import read_text_lines

    path = write(tmp_path, "raw.txt", "北京 人\r\n\n  \nab  c\n")
    chars = read_text_lines(path)
    assert [(s.tokens, s.tags, s.lines) for s in chars.sentences] == [
        (["北", "京", " ", "人"], None, [1, 1, 1, 1]), (["a", "b", " ", " ", "c"], None, [4] * 5)]
    assert chars.format == "text" and chars.ids == [0, 1]  # each sentence's position (the spans' ids)
    words = read_text_lines(path, split="whitespace")
    assert [s.tokens for s in words.sentences] == [["北京", "人"], ["ab", "c"]]
    with pytest.raises(DataFormatError) as error:
        read_text_lines(write(tmp_path, "blank.txt", "\n \n"))
    assert message(error) == f"{tmp_path}/blank.txt: no text found."
    part = chars.subset([1])
    assert [s.tokens for s in part.sentences] == [["a", "b", " ", " ", "c"]]
    assert (part.path, part.format, list(part.raw_lines()), part.token_lines) == (path, "text", [], 0)
    assert len(chars.subset([])) == 0 and len(chars.subset([1, 0])) == 2


def test_raw_text_read_piece_by_piece_as_read_whole(tmp_path):
    """A large raw text is read in pieces of at most `size` sentences; together they are what read_text_lines
    gives (blank lines hold none, line numbers and positions run on across pieces)."""
    from bertft_utils.data.readers import read_text_lines, text_line_chunks

    lines = [f"第{i}句" if i % 4 else "" for i in range(1, 24)]
    path = write(tmp_path, "raw.txt", "\n".join(lines) + "\n")
    pieces = list(text_line_chunks(path, size=5))
    assert [len(p) for p in pieces] == [5, 5, 5, 3]
    whole = read_text_lines(path)
    assert [s for p in pieces for s in p.sentences] == whole.sentences
    assert [i for p in pieces for i in p.ids] == list(range(18)) == whole.ids
    assert pieces[1].sentences[0].lines[0] == 7 and pieces[1].sentences[0].tokens == list("第7句")
    with pytest.raises(DataFormatError, match="no text found"):
        list(text_line_chunks(write(tmp_path, "blank.txt", "\n \n"), size=5))


def test_streamed_lines_name_the_line_that_is_not_utf8_far_into_a_file(tmp_path):
    from bertft_utils.data.readers import stream_lines

    path = tmp_path / "big.txt"
    path.write_bytes("\ufeff第一行\r\n".encode() + b"ok line\n" * 20000 + "中".encode("gbk") + b"\nlast\n")
    numbered = stream_lines(str(path))
    assert next(numbered) == (1, "第一行") and next(numbered) == (2, "ok line")
    with pytest.raises(DataFormatError) as error:
        list(numbered)
    assert message(error) == (f"{path}, line 20002: not UTF-8 (invalid continuation byte at byte 0 of the line). "
                              "Convert the file to UTF-8 (e.g. iconv -f GBK -t UTF-8).")
    binary = tmp_path / "b.txt"
    binary.write_bytes(b"a\x00b\n")
    with pytest.raises(DataFormatError, match="a binary file"):
        next(stream_lines(str(binary)))


def test_paths_line_ends_and_defaults_of_each_reader(tmp_path, caplog):
    from bertft_utils.data.readers import (
        open_text,
        read_answer_question_lines,
        read_table_file,
        read_text_lines,
        read_token_file,
    )

    conll = write(tmp_path, "c.txt", "a\tB-X\nb\tO\n\nc\tO\n")
    token_file = read_token_file(conll)
    assert token_file.path == conll and token_file.subset([1]).token_lines == 3
    assert read_token_file(conll, tagged=False).sentences[0].tags is None
    conll_tsv = write(tmp_path, "c.tsv", "a\tB-X\n")  # a CoNLL file named .tsv is still CoNLL
    assert read_token_file(conll_tsv).sentences[0].tags == ["B-X"]
    assert read_token_file(write(tmp_path, "t.jsonl", '{"tokens": ["a"], "ner_tags": ["O"]}\n')).path.endswith(
        "t.jsonl")
    assert read_table(write(tmp_path, "a.json", '[{"a": 1}]')).path == str(tmp_path / "a.json")
    qa = write(tmp_path, "qa.txt", "office question X\nlonely\n")
    assert read_answer_question_lines(qa, skip_malformed=True).path == qa
    assert read_table(qa, skip_malformed=True).column("question") == ["question X"]  # the X is kept
    with pytest.raises(DataFormatError, match="no question after the answer 'lonely'"):
        read_table(qa)  # skipping is asked for, never the default
    assert [s.tokens for s in read_text_lines(write(tmp_path, "r.txt", "abX\r\n")).sentences] == [["a", "b", "X"]]
    quoted = write(tmp_path, "q.tsv", 'a\tb\n"x\ty"\t2\n')
    with pytest.raises(DataFormatError, match="3 fields"):
        read_table_file(quoted, "tsv")  # no quote processing unless asked
    # a tsv keeps an empty last field, a header with spaces, and text ending in X
    tsv = read_table(write(tmp_path, "s.tsv", "my text\tlabel\nX\t\nabX\t1X\n"))
    assert tsv.rows == [{"my text": "X", "label": ""}, {"my text": "abX", "label": "1X"}]
    with pytest.raises(DataFormatError) as error:
        read_table(write(tmp_path, "d.tsv", "a\ta\n1\t2\n"))
    assert message(error) == (f"{tmp_path}/d.tsv, line 1: the header names column(s) ['a'] more than once; one would "
                              "silently overwrite the other. Rename them.")
    with pytest.raises(DataFormatError) as error:
        read_table(write(tmp_path, "h.csv", '"a,b\n1,2\n'))
    assert "h.csv, line 1: " in message(error) and "A quote opened on line 1 never closes" in message(error)
    with pytest.raises(DataFormatError) as error:
        read_table(write(tmp_path, "q2.tsv", 'a\tb\n"x\t2\n'), tsv_quoting=True)
    assert message(error).endswith("Close or remove the quote, or read the file without quote processing (drop "
                                   "--tsv_quoting).")
    with pytest.raises(DataFormatError) as error:
        read_table(write(tmp_path, "sp.json", '\n  [{"a": 1},\n {"a": }]\n'))
    assert message(error).startswith(f"{tmp_path}/sp.json, line 3: the JSON array is broken there")
    with pytest.raises(DataFormatError) as error:
        open_text(write(tmp_path, "nl.txt", b"\nx\xff\n", "wb")).readlines()
    assert message(error).startswith(f"{tmp_path}/nl.txt, line 2: not UTF-8")
    with open_text(write(tmp_path, "cr.txt", "a\rb\r\nc\n")) as handle:
        assert handle.readlines() == ["a\r", "b\r\n", "c\n"]  # universal line ends: a lone CR ends a line too


def test_reader_log_lines_in_full(tmp_path, caplog):
    from bertft_utils.data.readers import read_answer_question_lines, read_token_file

    csv_path = write(tmp_path, "m.csv", "text,label\n" + "".join(f'"a\nb",{i}\n' for i in range(11)))
    qa = write(tmp_path, "qa.txt", "".join(f"lonely{i}\n" for i in range(11)) + "office q\n")
    tokens = write(tmp_path, "w.jsonl", '{"words": ["a"], "labels": ["O"]}\n')
    with caplog.at_level("INFO", logger="bertft_utils"):
        read_table(csv_path)
        read_answer_question_lines(qa, skip_malformed=True)
        read_token_file(tokens)
    readers = "bertft_utils.data.readers"
    assert [r.name for r in caplog.records] == [f"{readers}.tables", f"{readers}.answer_lines", f"{readers}.tables",
                                                f"{readers}.tables"]
    assert caplog.messages == [
        f"{csv_path}: 11 records span several lines (quoted newlines), starting on lines [2, 4, 6, 8, 10, 12, 14, 16, "
        "18, 20] ... (11 in all).",
        f"{qa}: skipped 11 malformed lines (no question): lines [1, 2, 3, 4, 5, 6, 7, 8, 9, 10] ... (11 in all).",
        f"{tokens}: no column 'tokens'; using 'words' (set --tokens_column_name to choose).",
        f"{tokens}: no column 'ner_tags'; using 'labels' (set --tags_column_name to choose)."]


def test_an_empty_tag_list_names_file_line_and_column(tmp_path):
    from bertft_utils.data.readers import read_token_file

    path = write(tmp_path, "t.jsonl", '{"tokens": ["a"], "ner_tags": ["O"]}\n{"tokens": ["a"], "ner_tags": []}\n')
    with pytest.raises(DataFormatError) as error:
        read_token_file(path)
    assert message(error) == f"{path}, line 2: column 'ner_tags' must be a non-empty list."


CLUENER = [
    {"id": 7, "text": "浙商银行企业信贷部叶老桂博士",
     "label": {"name": {"叶老桂": [[9, 11]]}, "company": {"浙商银行": [[0, 3]]}}},
    {"text": "生生不息CSOL生化狂潮让你填弹狂扫", "label": {"game": {"CSOL": [[4, 7]]}}},
    {"id": 9, "text": "没有实体的句子"},
]


def write_jsonl(tmp_path, name: str, records: list[dict]) -> str:
    return write(tmp_path, name, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records))


def test_cluener_span_json_is_read_as_character_tags(tmp_path):
    from bertft_utils.data.readers import read_token_file

    token_file = read_token_file(write_jsonl(tmp_path, "train.json", CLUENER))
    first, second, third = token_file.sentences
    assert token_file.format == "spans" and token_file.ids == [7, None, 9]
    assert first.tokens == list("浙商银行企业信贷部叶老桂博士") and first.lines == [1] * 14
    assert first.tags == ["B-company", "I-company", "I-company", "I-company", "O", "O", "O", "O", "O",
                          "B-name", "I-name", "I-name", "O", "O"]
    assert second.tags[4:8] == ["B-game", "I-game", "I-game", "I-game"] and set(second.tags[8:]) == {"O"}
    assert third.tags == ["O"] * 7 and third.lines == [3] * 7
    unlabelled = read_token_file(write_jsonl(tmp_path, "test.json", [{"id": 0, "text": "北京"}]))
    assert unlabelled.sentences[0].tags is None and unlabelled.sentences[0].tokens == ["北", "京"]
    assert read_token_file(write_jsonl(tmp_path, "t.jsonl", CLUENER), data_format="spans").ids == [7, None, 9]
    assert read_token_file(write_jsonl(tmp_path, "tokens.jsonl", [{"tokens": ["a"], "ner_tags": ["O"]}])
                           ).format == "jsonl"  # HF's token lists stay token lists


def test_cluener_offsets_that_miss_the_mention_and_overlapping_spans_are_refused(tmp_path):
    from bertft_utils.data.readers import read_token_file

    shifted = [CLUENER[1], {"text": "叶老桂博士", "label": {"name": {"叶老桂": [[1, 3]]}}}]
    with pytest.raises(DataFormatError) as error:
        read_token_file(write_jsonl(tmp_path, "a.json", shifted))
    assert message(error) == (f"{tmp_path}/a.json, line 2: name '叶老桂' at [1, 3] reads '老桂博' in the text "
                              "(CLUENER offsets: start and end inclusive, in characters).")
    overlapping = [{"text": "浙商银行", "label": {"company": {"浙商银行": [[0, 3]]}, "name": {"银行": [[2, 3]]}}}]
    with pytest.raises(DataFormatError) as error:
        read_token_file(write_jsonl(tmp_path, "b.json", overlapping))
    assert message(error) == (f"{tmp_path}/b.json, line 1: name '银行' at [2, 3] overlaps company '浙商银行' at "
                              "[0, 3]; a character takes one tag: keep one of the two.")
    with pytest.raises(DataFormatError, match=r"c\.json, line 1: name '北' at \[0, 5\] reads 'outside the text'"):
        read_token_file(write_jsonl(tmp_path, "c.json", [{"text": "北京", "label": {"name": {"北": [[0, 5]]}}}]))


def test_tags_become_cluener_spans_again():
    from bertft_utils.data.readers.spans import span_tags, spans_from_tags

    for record in CLUENER:
        tags = span_tags(record["text"], record.get("label", {}), "here")
        assert spans_from_tags(list(record["text"]), tags) == record.get("label", {})
    assert spans_from_tags(list("北京人"), ["S-LOC", "B-PER", "E-PER"]) == {"LOC": {"北": [[0, 0]]},
                                                                           "PER": {"京人": [[1, 2]]}}
    assert spans_from_tags(list("北京上海"), ["I-LOC", "I-LOC", "B-LOC", "I-LOC"]) == {
        "LOC": {"北京": [[0, 1]], "上海": [[2, 3]]}}


@pytest.mark.parametrize("quoting", [False, True])
def test_headerless_tsv_takes_column_names_and_keeps_every_line(tmp_path, quoting):
    """GoEmotions' tsv files: no header; text, comma-separated label ids, comment id."""
    path = tmp_path / "train.tsv"
    path.write_text("My favourite food is anything I didn't have to cook myself.\t27\teebbqej\n"
                    "WHY THE FUCK IS BAYLESS ISOING\t2\teezlygj\nTo make her feel threatened\t14,16\ted7ypvh\n",
                    encoding="utf-8")
    table = read_table_file(str(path), "tsv", tsv_quoting=quoting, column_names=["text", "labels", "id"])
    assert table.line_numbers == [1, 2, 3]
    assert table.column("labels") == ["27", "2", "14,16"]
    broken = tmp_path / "broken.tsv"
    broken.write_text("a\t1\tx\nb\t2\t\ty\n", encoding="utf-8")
    with pytest.raises(DataFormatError, match=r"broken.tsv, line 2: 4 fields, but the header has 3"):
        read_table_file(str(broken), "tsv", tsv_quoting=quoting, column_names=["text", "labels", "id"])


@pytest.mark.parametrize("quoting", [False, True])
def test_headerless_lines_may_stop_before_the_last_named_columns(tmp_path, quoting):
    """The STS benchmark's sts-train.csv: 7 tab-separated fields, some lines 2 more (their sources)."""
    path = tmp_path / "sts-train.csv"
    path.write_text("main-captions\tMSRvid\t2012test\t0001\t5.000\tA plane is taking off.\tAn air plane is taking "
                    "off.\nmain-forums\tdeft\t2014\t0002\t1.000\tA.\tB.\tsrc-a\tsrc-b\n", encoding="utf-8")
    names = ["genre", "file", "year", "id", "score", "sentence1", "sentence2", "source1", "source2"]
    table = read_table_file(str(path), "tsv", tsv_quoting=quoting, column_names=names)
    assert table.column("score") == ["5.000", "1.000"]
    with pytest.raises(DataFormatError, match=r"sts-train.csv, line 1: column 'source1' is missing or empty"):
        table.column("source1")
    with pytest.raises(DataFormatError, match=r"--column_names names the columns of a csv/tsv file"):
        read_table_file(str(path), "jsonl", column_names=["text"])


@pytest.mark.parametrize("name, line", [("wide.jsonl", '{"text": "x", "label": "1"}'), ("wide.tsv", "x\t1"),
                                        ("wide.csv", '"x",1')])
def test_a_table_file_is_read_piece_by_piece_never_held_whole(tmp_path, name, line):
    """Records between lines of 2,000 spaces (blank, so skipped): 16 MB of file for records of a few bytes. Reading
    holds the records, never the file's text (which took four bytes a character in the reader's buffer before)."""
    import tracemalloc

    header = {"wide.tsv": "text\tlabel\n", "wide.csv": "text,label\n"}.get(name, "")
    path = write(tmp_path, name, header + (line + "\n" + " " * 2000 + "\n") * 8000)
    tracemalloc.start()
    try:
        rows = read_table(path).rows
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert len(rows) == 8000
    assert peak < 8 * 2**20, f"reading a 16 MB file peaked at {peak >> 20} MB"


def test_a_conll_file_holds_a_pointer_per_token_not_a_string_and_a_number(tmp_path):
    """192,000 tagged characters: their sentences take well under 100 bytes a token (a string per token and tag, a
    line number per token and every raw line held took 241)."""
    import tracemalloc

    from bertft_utils.data.readers import read_token_file

    sentence = "".join(f"{character}\t{'B-LOC' if i % 5 == 0 else 'O'}\n" for i, character in
                       enumerate("浙商银行企业信贷部叶老桂博士北京上海中国人民日报"))
    path = write(tmp_path, "many.txt", (sentence + "\n") * 8000)
    tracemalloc.start()
    try:
        token_file = read_token_file(path)
        held = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    assert token_file.token_lines == 192_000 and list(token_file.sentences[1].lines) == list(range(26, 50))
    assert held / token_file.token_lines < 100, f"{held / token_file.token_lines:.0f} bytes a token"


def test_a_file_is_hashed_once_per_version(tmp_path, monkeypatch):
    """A run asks for the training file's digest several times: read once; a file rewritten (same size) is read
    again and gets its new digest."""
    import hashlib

    from bertft_utils.data.readers import common

    path = tmp_path / "train.jsonl"
    path.write_text('{"text": "a", "label": "x"}\n')
    opened = []
    real_open = open
    monkeypatch.setattr(common, "open", lambda *args, **kwargs: opened.append(args[0]) or real_open(*args, **kwargs),
                        raising=False)
    first = common.file_sha256(str(path))
    assert common.file_sha256(str(path)) == first == hashlib.sha256(path.read_bytes()).hexdigest()
    assert len(opened) == 1
    path.write_text('{"text": "b", "label": "y"}\n')
    os.utime(path, ns=(0, 10**9))
    assert common.file_sha256(str(path)) == hashlib.sha256(path.read_bytes()).hexdigest() != first
    assert len(opened) == 2


def test_predictions_are_not_written_into_a_conll_file_changed_after_it_was_read(tmp_path):
    """The raw lines are read again when predictions are written in the file's layout: a file rewritten in between
    would pair tags with other lines, so it is refused with the file named."""
    from bertft_utils.data.readers import read_token_file
    from bertft_utils.evaluation.prediction_files import write_tagged_predictions

    path = write(tmp_path, "test.txt", "北\tB-LOC\n京\tI-LOC\n\n上\tO\n")
    token_file = read_token_file(path)
    written = write_tagged_predictions(token_file.subset([0, 1]), [["B-LOC", "I-LOC"], ["O"]],
                                       str(tmp_path / "out.txt"))
    assert open(written, encoding="utf-8").read() == "北\tB-LOC\tB-LOC\n京\tI-LOC\tI-LOC\n\n上\tO\tO\n"
    write(tmp_path, "test.txt", "上\tO\n\n北\tB-LOC\n京\tI-LOC\n")
    os.utime(path, ns=(0, 10**9))  # a rewrite within the clock's resolution still changes the version
    with pytest.raises(DataFormatError) as error:
        write_tagged_predictions(token_file.subset([0, 1]), [["B-LOC", "I-LOC"], ["O"]], str(tmp_path / "again.txt"))
    assert message(error) == (f"{path} changed after this run read it: the predictions cannot be written line for "
                              "line into it. Run again on a file that stays as it is during the run.")


JSON_LINES = {  # files Arrow reads into columns, and files it would read otherwise than json.loads line by line
    "plain": b'{"t": "a \\u00e9 \\ud83d\\ude00 \\"q\\" \\\\ \\/", "n": 1, "b": true, "l": ["x", "y"], "m": [1, 2]}\n'
             b'{"t": "c", "n": -2, "b": false, "l": [], "m": [3]}\n',
    "crlf_bom_no_last_end": b'\xef\xbb\xbf{"t": "a", "n": 1}\r\n{"t": "b", "n": 2}',
    "blank_lines": b'\n{"t": "a", "n": 1}\n\n  \t\n{"t": "b", "n": 2}\n\r\n',
    "two_on_a_line": b'{"t": "a"}{"t": "b"}\n',
    "two_on_a_line_and_a_blank_one": b'{"t": "a"}{"t": "b"}\n\n',
    "a_blank_line_first_and_two_on_a_line": b'\n{"t": "a"}{"t": "b"}\n',
    "object_over_two_lines": b'{"t":\n "a"}\n{"t": "b"}\n',
    "int_and_float": b'{"t": "a", "n": 1}\n{"t": "b", "n": 1.5}\n',
    "floats": b'{"t": "a", "n": 1.0}\n{"t": "b", "n": 1e5}\n{"t": "c", "n": NaN}\n',
    "dates": b'{"t": "2020-01-01", "n": 1}\n{"t": "2020-01-02 10:00:00", "n": 2}\n',
    "missing_key": b'{"t": "a", "n": 1}\n{"t": "b"}\n',
    "null": b'{"t": "a", "n": null}\n{"t": "b", "n": 2}\n',
    "not_utf8": b'{"t": "a"}\n{"t": "\xff"}\n',
    "lone_surrogate": b'{"t": "a \\ud800"}\n',
    "lone_cr": b'{"t": "a",\r "n": 1}\n',
    "big_int": b'{"t": "a", "n": 123456789012345678901234}\n',
    "duplicate_key": b'{"t": "a", "t": "b"}\n',
    "list_with_null": b'{"t": "a", "l": ["x", null]}\n',
    "empty_lists": b'{"t": "a", "l": []}\n',
    "nested": b'{"t": "a", "o": {"k": 1}}\n',
    "array_line": b'{"t": "a"}\n[1, 2]\n',
    "blank_cells": b'{"t": "", "n": 1}\n{"t": "  ", "n": 2}\n{"t": "x", "n": 3}\n',
    "control_character": b'{"t": "a\tb"}\n',
    "only_blank": b"\n \n",
    "empty": b"",
    "data_list_on_one_line": b'{"data": [{"t": "a"}, {"t": "b"}]}\n',
}


def outcome(read, path):
    """Records, line numbers, columns and every column as `column` gives it (or each error's message)."""
    try:
        table = read(path)
    except DataFormatError as error:
        return str(error)
    columns = {}
    for name in [*table.columns(), "absent"]:
        for empty_allowed in (False, True):
            try:
                columns[name, empty_allowed] = repr(table.column(name, empty_allowed))
            except DataFormatError as error:
                columns[name, empty_allowed] = str(error)
    return repr(table.rows), list(table.line_numbers), table.columns(), columns, repr(table.cells("t"))


@pytest.mark.parametrize("name", sorted(JSON_LINES))
@pytest.mark.parametrize("extension", ["jsonl", "json"])
def test_json_lines_are_read_by_arrow_exactly_as_line_by_line(tmp_path, name, extension, monkeypatch):
    """Arrow reads JSON lines into columns where that gives what json.loads line by line gives; every other file is
    read line by line: the same records, line numbers, columns and errors either way."""
    from bertft_utils.data.readers import tables

    path = write(tmp_path, f"{name}.{extension}", JSON_LINES[name], "wb")
    read = tables.read_jsonl if extension == "jsonl" else tables.read_json
    by_arrow = outcome(read, path)
    monkeypatch.setattr(tables, "_json_lines_by_arrow", lambda path: None)
    assert by_arrow == outcome(read, path)


@pytest.mark.parametrize("extension", ["jsonl", "json"])
def test_plain_json_lines_are_read_by_arrow(tmp_path, extension, monkeypatch):
    from bertft_utils.data.readers import tables

    def refused(path):
        raise AssertionError("read line by line")

    monkeypatch.setattr(tables, "_json_lines_one_by_one", refused)
    for name in ("plain", "crlf_bom_no_last_end", "dates", "blank_cells"):  # dates: Arrow's timestamps read again
        table = read_table(write(tmp_path, f"{name}.{extension}", JSON_LINES[name], "wb"))
        assert len(table) == len(table.line_numbers) > 0
