import pytest
from transformers import BertConfig

from bertft_utils.data.transforms import RegexTransformations, resolve_regex_transformations


def test_transformations_apply_in_order_and_from_file(tmp_path):
    clean = RegexTransformations.from_argument('{"https?://\\\\S+": "URL", "\\\\s+": " "}')
    assert clean("see  http://x.y/z   now") == "see URL now"
    path = tmp_path / "t.json"
    path.write_text('[["a", "b"], ["b", "c"]]')
    assert RegexTransformations.from_argument(str(path))("a") == "c"


def test_bad_json_and_bad_pattern_are_clear_errors():
    with pytest.raises(ValueError, match="not valid JSON"):
        RegexTransformations.from_argument("{oops")
    with pytest.raises(ValueError, match=r"invalid pattern '\('"):
        RegexTransformations.from_argument('{"(": ""}')


def test_stored_transformations_are_reused_and_conflicts_refused():
    config = BertConfig()
    config.bertft_regex_transformations = [["x", "y"]]
    assert resolve_regex_transformations(None, config)("xx") == "yy"
    assert resolve_regex_transformations('{"x": "y"}', config)("xx") == "yy"
    with pytest.raises(ValueError, match="fine-tuned with --regex_transformations"):
        resolve_regex_transformations('{"a": "b"}', config)
