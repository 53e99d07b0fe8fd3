import pytest

from bertft_utils.readers import DataFormatError, read_token_file
from bertft_utils.tags import count_illegal, detect_scheme, name_tag_ids, parse_tag_names, repair, validate_tags


def test_scheme_detection():
    assert detect_scheme([["B-PER", "I-PER", "O", "B-LOC"]]) == "IOB2"
    assert detect_scheme([["I-PER", "I-PER", "B-PER", "O", "I-LOC"]]) == "IOB1"
    assert detect_scheme([["S-PER", "O", "B-LOC", "M-LOC", "E-LOC"]]) == "IOBES"
    assert detect_scheme([["O", "I-PER", "O", "B-LOC", "I-LOC"]]) == "IOB2"  # BIO with an illegal start


def test_illegal_sequences_are_counted_and_repaired():
    tags = ["O", "I-PER", "I-PER", "B-LOC", "I-ORG", "O"]
    report = count_illegal([tags, ["B-PER", "I-PER"]], "IOB2")
    assert (report.illegal, report.sentences_with_illegal) == (2, 1)
    assert repair(tags, "IOB2") == ["O", "B-PER", "I-PER", "B-LOC", "B-ORG", "O"]
    assert repair(["I-PER", "I-PER", "B-PER"], "IOB1") == ["B-PER", "I-PER", "B-PER"]
    assert repair(["O", "M-LOC", "E-LOC", "B-PER", "O", "E-ORG"], "IOBES") == ["O", "B-LOC", "E-LOC", "S-PER", "O",
                                                                              "S-ORG"]


@pytest.mark.parametrize("bad", ["X-PER", "B_PER", "B-"])
def test_unknown_tag_names_file_and_line(tmp_path, bad):
    path = tmp_path / "bad.txt"
    path.write_text(f"北\tB-LOC\n京\tI-LOC\n\n人\t{bad}\n", encoding="utf-8")
    with pytest.raises(DataFormatError, match=rf"bad\.txt, line 4: unknown tag '{bad}'"):
        validate_tags(read_token_file(str(path)))


def test_empty_tag_is_an_error(tmp_path):
    path = tmp_path / "empty_tag.txt"
    path.write_text("北\tB-LOC\n京\t\n", encoding="utf-8")
    with pytest.raises(DataFormatError, match=r"line 2: unknown tag ''"):
        validate_tags(read_token_file(str(path)))


def test_tag_names_from_commas_json_or_file(tmp_path):
    assert parse_tag_names("O, B-PER,I-PER") == ["O", "B-PER", "I-PER"]
    assert parse_tag_names('["O", "B-LOC"]') == ["O", "B-LOC"]
    names = tmp_path / "tags.txt"
    names.write_text("O\nB-ORG\nI-ORG\n", encoding="utf-8")
    assert parse_tag_names(str(names)) == ["O", "B-ORG", "I-ORG"]
    with pytest.raises(ValueError, match="distinct, non-empty names"):
        parse_tag_names("O,B-PER,O")


def test_integer_tag_ids_are_named_or_explained(tmp_path):
    path = tmp_path / "ids.jsonl"
    path.write_text('{"tokens": ["EU", "rejects", "Peter"], "ner_tags": [3, 0, 1]}\n'
                    '{"tokens": ["Paris"], "ner_tags": [5]}\n', encoding="utf-8")
    with pytest.raises(DataFormatError, match=r"ids.jsonl, line 1: unknown tag '3'.*integer tag id: pass --tag_names"):
        validate_tags(read_token_file(str(path)))
    named = read_token_file(str(path))
    name_tag_ids(named, ["O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC"])
    assert [s.tags for s in named.sentences] == [["B-ORG", "O", "B-PER"], ["B-LOC"]]
    with pytest.raises(DataFormatError, match=r"ids.jsonl, line 2: tag '5' is not an id between 0 and 4"):
        name_tag_ids(read_token_file(str(path)), ["O", "B-PER", "I-PER", "B-ORG", "I-ORG"])
