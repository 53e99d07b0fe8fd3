import pytest
from transformers import BertConfig

from bertft_utils.data.labels import (
    LABEL_NAMES_KEY,
    apply_label_maps,
    check_unseen_labels,
    duplicates_and_conflicts,
    label_to_str,
    name_labels,
    named_label_order,
    parse_label_names,
    resolve_label_list,
    resolve_label_names,
    sort_labels,
)
from bertft_utils.data.readers import DataFormatError


def test_labels_sort_numerically_and_normalise():
    assert sort_labels(["10", "2", "1"]) == ["1", "2", "10"]
    assert sort_labels(["b", "a", "B"]) == ["B", "a", "b"]
    assert [label_to_str(v) for v in (1, True, 0.0, " x ")] == ["1", "1", "0", "x"]


def test_unseen_label_is_an_error_unless_allowed():
    with pytest.raises(ValueError) as error:
        check_unseen_labels(["a", "b"], {"validation": ["a", "d"], "test": ["a", "c", "c"]}, allow=False)
    assert str(error.value) == (
        "Labels that never occur in the training data: validation: ['d']; test: ['c']. The model cannot predict "
        "them. Fix the split, or pass --allow_unseen_labels to keep them (they then always count as errors).")
    assert check_unseen_labels(["a", "b"], {"validation": ["a"]}, allow=False) == {}
    assert check_unseen_labels(["a", "b"], {"test": ["a", "c", "c"]}, allow=True) == {"test": {"c": 2}}


def test_apply_label_maps():
    config = BertConfig()
    apply_label_maps(config, ["neg", "neutral", "pos"])
    assert config.id2label == {0: "neg", 1: "neutral", 2: "pos"} and config.label2id["pos"] == 2
    assert config.num_labels == 3


def test_label_names_parse_and_keep_raw_order():
    assert parse_label_names("1=sarcastic, 0=serious") == {"1": "sarcastic", "0": "serious"}
    assert parse_label_names(' {"0": "serious", "1": " sarcastic "} ') == {"0": "serious", "1": "sarcastic"}
    assert parse_label_names('{"1.0": "yes", "0": "no"}') == {"1.0": "yes", "0": "no"}
    assert parse_label_names("0=a=b, 1 = c") == {"0": "a=b", "1": "c"}  # the first '=' separates
    assert named_label_order(None) is None and named_label_order({}) is None
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


def test_name_labels_names_every_value_or_says_which_line_has_none():
    sources = [("f.csv", 2), ("f.csv", 3), ("f.csv", 5)]
    assert name_labels(["1", "0", "1"], sources, {"0": "serious", "1": "sarcastic"}) == [
        "sarcastic", "serious", "sarcastic"]
    with pytest.raises(DataFormatError) as error:
        name_labels(["1", "2", "0"], sources, {"0": "serious", "1": "sarcastic"})
    assert str(error.value) == "f.csv, line 3: label '2' has no name in --rename_labels (names given for ['0', '1'])."


def test_label_list_from_training_labels_or_a_fine_tuned_config():
    config = BertConfig()
    assert resolve_label_list(config, True, ["b", "a", "b"], {"test": ["a"], "validation": None}, False) == (
        ["a", "b"], False)
    assert config.id2label == {0: "a", 1: "b"} and config.label2id == {"a": 0, "b": 1} and config.num_labels == 2
    # an order (that of --rename_labels) is kept, less the labels training never saw
    assert resolve_label_list(BertConfig(), True, ["y", "x"], {}, False, ["z", "y", "x"]) == (["y", "x"], False)
    # evaluation only: the fine-tuned model's labels, not the (unknown) training data's
    tuned = BertConfig(id2label={0: "neg", 1: "pos"}, label2id={"neg": 0, "pos": 1})
    assert resolve_label_list(tuned, False, None, {"test": ["pos"]}, False) == (["neg", "pos"], False)
    # training on another label set: a new head over the data's labels
    assert resolve_label_list(tuned, True, ["1", "0"], {}, False) == (["0", "1"], True)
    # the same label set: the head keeps its order, so that its rows keep their meaning (as HF's scripts do)
    public = BertConfig(id2label=dict(enumerate(["O", "B-MISC", "I-MISC", "B-PER", "I-PER"])))
    assert resolve_label_list(public, True, ["B-PER", "O", "I-PER", "B-MISC", "I-MISC"], {}, False) == (
        ["O", "B-MISC", "I-MISC", "B-PER", "I-PER"], False)
    assert public.label2id == {"O": 0, "B-MISC": 1, "I-MISC": 2, "B-PER": 3, "I-PER": 4}
    with pytest.raises(ValueError, match=r"^The label set comes from the training data \(or a fine-tuned checkpoint\): "
                                         r"pass --train_file\.$"):
        resolve_label_list(BertConfig(), False, None, {"test": ["a"]}, False)
    with pytest.raises(ValueError, match="never occur in the training data: test: \\['c'\\]"):
        resolve_label_list(BertConfig(), True, ["a"], {"test": ["c"]}, False)
    assert resolve_label_list(BertConfig(), True, ["a"], {"test": ["c"]}, True) == (["a"], False)


def test_label_names_are_stored_and_reused():
    config = BertConfig()
    assert resolve_label_names(config, "0=no,1=yes") == {"0": "no", "1": "yes"}
    assert getattr(config, LABEL_NAMES_KEY) == {"0": "no", "1": "yes"}
    assert resolve_label_names(config, None) == {"0": "no", "1": "yes"}  # a reloaded model keeps them
    with pytest.raises(ValueError, match="fine-tuned with --rename_labels"):
        resolve_label_names(config, "0=a,1=b")
    assert resolve_label_names(BertConfig(), None) is None


def test_duplicates_and_conflicting_labels_are_counted():
    report = duplicates_and_conflicts(["q1", "q1", "q2", "q2", "q3", "q1"], ["a", "a", "a", "b", "c", "a"])
    assert report == {"records": 6, "distinct_texts": 3, "duplicate_records": 2, "conflicting_texts": 1,
                      "conflict_examples": {"q2": ["a", "b"]}}
    many = duplicates_and_conflicts([f"q{i}" for i in range(25) for _ in (0, 1)], ["a", "b"] * 25)
    assert many["conflicting_texts"] == 25 and list(many["conflict_examples"]) == [f"q{i}" for i in range(20)]
    with pytest.raises(ValueError):
        duplicates_and_conflicts(["q1"], [])


def test_multilabel_cells_are_json_lists_or_split_by_the_delimiter():
    from bertft_utils.data.labels import parse_label_set

    assert parse_label_set(["joy", 1, "joy"], None, ("f.jsonl", 1)) == ["joy", "1"]
    assert parse_label_set('["joy", "love"]', ",", ("f.csv", 2)) == ["joy", "love"]
    assert parse_label_set("joy, love,,", ",", ("f.csv", 3)) == ["joy", "love"]
    assert parse_label_set("", ",", ("f.csv", 4)) == []
    assert parse_label_set("[not json", None, ("f.csv", 5)) == ["[not json"]
    with pytest.raises(DataFormatError, match=r"^f.jsonl, line 7: label .* nests lists or objects"):
        parse_label_set([["joy"]], None, ("f.jsonl", 7))
