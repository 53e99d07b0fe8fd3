import pytest
from transformers import BertConfig

from bertft_utils.labels import (
    apply_label_maps,
    check_unseen_labels,
    label_to_str,
    named_label_order,
    parse_label_names,
    sort_labels,
)


def test_labels_sort_numerically_and_normalise():
    assert sort_labels(["10", "2", "1"]) == ["1", "2", "10"]
    assert sort_labels(["b", "a", "B"]) == ["B", "a", "b"]
    assert [label_to_str(v) for v in (1, True, 0.0, " x ")] == ["1", "1", "0", "x"]


def test_unseen_label_is_an_error_unless_allowed():
    with pytest.raises(ValueError, match=r"never occur in the training data: test: \['c'\].*--allow_unseen_labels"):
        check_unseen_labels(["a", "b"], {"validation": ["a"], "test": ["a", "c", "c"]}, allow=False)
    assert check_unseen_labels(["a", "b"], {"test": ["a", "c", "c"]}, allow=True) == {"test": {"c": 2}}


def test_apply_label_maps():
    config = BertConfig()
    apply_label_maps(config, ["neg", "neutral", "pos"])
    assert config.id2label == {0: "neg", 1: "neutral", 2: "pos"} and config.label2id["pos"] == 2
    assert config.num_labels == 3


def test_label_names_parse_and_keep_raw_order():
    assert parse_label_names("1=sarcastic, 0=serious") == {"1": "sarcastic", "0": "serious"}
    assert parse_label_names('{"0": "serious", "1": "sarcastic"}') == {"0": "serious", "1": "sarcastic"}
    # the positive class of a binary task stays the raw value that sorts last ("1"), whatever the names
    assert named_label_order(parse_label_names("1=sarcastic,0=serious")) == ["serious", "sarcastic"]
    with pytest.raises(ValueError, match="--rename_labels: expected a comma-separated list"):
        parse_label_names("")
    for bad in ("0=serious,1", "0=a,1=a", "0=a,0=b", "[1, 2]", "=a", "0="):
        with pytest.raises(ValueError, match="--rename_labels must"):
            parse_label_names(bad)


def test_a_long_list_of_unseen_labels_shows_the_first_ten_and_the_count():
    unseen = [f"office{i:02d}" for i in range(25)]
    with pytest.raises(ValueError) as error:
        check_unseen_labels(["a"], {"validation": unseen}, allow=False)
    message = str(error.value)
    assert "'office09'] ... (25 in all)" in message and "office10" not in message
