import pytest

from bertft_utils.config.option_values import parse_option_value


def test_comma_list_json_and_files(tmp_path):
    assert parse_option_value(" O, B-PER ,I-PER", "--x") == ["O", "B-PER", "I-PER"]
    assert parse_option_value("a,b,", "--x") == ["a", "b"]  # one trailing comma is forgiven
    assert parse_option_value('  ["O", 1]', "--x") == ["O", 1]
    assert parse_option_value('{"0": "no"}', "--x") == {"0": "no"}
    lines = tmp_path / "names.txt"
    lines.write_text("O\n\n B-PER \nI-PER\n", encoding="utf-8")
    assert parse_option_value(str(lines), "--x") == ["O", "B-PER", "I-PER"]  # one per line, blank lines skipped
    as_json = tmp_path / "names.json"
    as_json.write_text('\n ["a,b", "c"]', encoding="utf-8")
    assert parse_option_value(str(as_json), "--x") == ["a,b", "c"]


def test_errors_name_the_option_and_the_problem(tmp_path):
    with pytest.raises(ValueError, match=r"^--x: expected a comma-separated list, a JSON value or a file \(item 2 "
                                         r"is empty\); got 'O,,B-PER'\.$"):
        parse_option_value("O,,B-PER", "--x")
    with pytest.raises(ValueError, match=r"^--x: expected .*; got ''\.$"):
        parse_option_value("", "--x")
    with pytest.raises(ValueError, match=r"^--x: expected .* \(item 1 is empty\)"):
        parse_option_value(" ,a", "--x")
    with pytest.raises(ValueError, match=r"^--x: not valid JSON \(Expecting value, line 1 column 2\); got '\[x\]'\.$"):
        parse_option_value("[x]", "--x")
    broken = tmp_path / "broken.json"
    broken.write_text("{\n  'a': 1}", encoding="utf-8")
    with pytest.raises(ValueError, match=rf"^--x file {broken}: not valid JSON \(.*line 2 column 3\)"):
        parse_option_value(str(broken), "--x")
    with pytest.raises(ValueError, match=r"got '\[" + "y" * 79 + r"\.\.\.'\.$"):
        parse_option_value("[" + "y" * 100, "--x")
