import pytest

from bertft_utils.readers import DataFormatError, guess_format, read_table


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
    from bertft_utils.readers import read_token_file

    content = "-DOCSTART- -X- O O\n\n北\tB-LOC\n京\tI-LOC\n \tO\n\u00a0\tO\n\n\nEU B-ORG\nrejects O\n"
    path = write(tmp_path, "m.txt", content)
    token_file = read_token_file(path)
    assert [s.tokens for s in token_file.sentences] == [["北", "京", " ", "\u00a0"], ["EU", "rejects"]]
    assert token_file.sentences[0].tags == ["B-LOC", "I-LOC", "O", "O"]
    assert token_file.sentences[1].lines == [9, 10] and token_file.token_lines == 6


def test_token_jsonl_and_csv(tmp_path):
    from bertft_utils.readers import read_token_file

    jsonl = write(tmp_path, "t.jsonl", '{"tokens": ["a", "b"], "ner_tags": ["B-X", "O"]}\n')
    assert read_token_file(jsonl).sentences[0].tags == ["B-X", "O"]
    csv_path = write(tmp_path, "t.csv", 'tokens,ner_tags\n"[""a"", ""b""]",B-X O\n')
    assert read_token_file(csv_path).sentences[0].tokens == ["a", "b"]
    bad = write(tmp_path, "u.jsonl", '{"tokens": ["a", "b"], "ner_tags": ["O"]}\n')
    with pytest.raises(DataFormatError, match=r"u\.jsonl, line 1: 2 tokens but 1 tags"):
        read_token_file(bad)


def test_conll_line_without_tag(tmp_path):
    from bertft_utils.readers import read_token_file

    with pytest.raises(DataFormatError, match=r"n\.txt, line 2: expected a token and a tag"):
        read_token_file(write(tmp_path, "n.txt", "北\tB-LOC\n京\n"))


def test_answer_question_lines_with_nbsp(tmp_path):
    from bertft_utils.readers import read_answer_question_lines

    content = ("臺北市政府衛生局食品藥物管理科\u00a0 食品標示 怎麼看？\n\n"
               "臺北市政府勞動局勞動基準科 加班費\u00a0如何計算\u00a0？\r\n")
    table = read_answer_question_lines(write(tmp_path, "qa.txt", content))
    assert table.column("answer") == ["臺北市政府衛生局食品藥物管理科", "臺北市政府勞動局勞動基準科"]
    assert table.column("question") == ["食品標示 怎麼看？", "加班費\u00a0如何計算\u00a0？"]
    assert table.line_numbers == [1, 3]


def test_answer_without_question_is_an_error_or_skipped(tmp_path):
    from bertft_utils.readers import read_answer_question_lines

    path = write(tmp_path, "bad.txt", "部門甲 問題一\n部門乙\n部門甲 問題二\n")
    with pytest.raises(DataFormatError, match=r"bad\.txt, line 2: no question after the answer '部門乙'"):
        read_answer_question_lines(path)
    table = read_answer_question_lines(path, skip_malformed=True)
    assert len(table) == 2 and table.skipped_lines == [2]
