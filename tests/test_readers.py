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
    from bertft_utils.readers import read_token_file

    path = write(tmp_path, "tokens.csv", 'tokens,ner_tags\n"[""a"", ""b""]","[""O"", ""O""]"\n"[""c"", oops]",O\n')
    with pytest.raises(DataFormatError, match=r"tokens\.csv, line 3: column 'tokens' starts like a JSON list but"):
        read_token_file(path)


def test_hf_conll_sample_columns_are_picked_as_hf_run_ner_picks_them(tmp_path, caplog):
    """transformers' own CoNLL test sample: JSON lines with `words` / `ner` columns."""
    from bertft_utils.readers import read_token_file

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
    from bertft_utils.sequence_classification import table_to_labeled_texts

    table = read_table(write(tmp_path, "two.csv", "title,body,label\nA title,and a body,1\nB,c,0\n"))
    texts = table_to_labeled_texts(table, "title,body", "label", True)
    assert texts.texts == ["A title and a body", "B c"] and texts.labels == ["1", "0"]
    glue = read_table(write(tmp_path, "glue.tsv", "sentence\tlabel\nit works\t1\n"))
    assert glue.pick_column("text", "text", ("sentence",), "--text_column_name") == "sentence"
    assert glue.pick_column("headline", "text", ("sentence",), "--text_column_name") == "headline"  # asked for


def test_predictions_tsv_round_trips_any_text(tmp_path):
    import csv

    import numpy as np

    from bertft_utils.prediction_files import write_classification_predictions
    from bertft_utils.sequence_classification import LabeledTexts

    texts = ['"quoted start', "tab\tinside", "two\nlines", 'both "a"\t\r\nb', "plain"]
    split = LabeledTexts(texts, ["0", "1", "0", "1", "0"], [("f.tsv", i + 2) for i in range(5)])
    probabilities = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4], [0.3, 0.7], [0.5, 0.5]])
    write_classification_predictions(split, probabilities, ["0", "1"], str(tmp_path))
    with open(tmp_path / "predictions.tsv", encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    assert [r["text"] for r in rows] == texts and [r["predicted"] for r in rows] == ["0", "1", "0", "1", "0"]
