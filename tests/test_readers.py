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
