import pytest

from bertft_utils.data.readers import DataFormatError, read_token_file
from bertft_utils.data.tags import count_illegal, detect_scheme, name_tag_ids, parse_tag_names, repair, validate_tags


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


def test_scoring_tags_and_scheme_rules_exactly():
    from bertft_utils.data.tags import to_scoring_tag

    assert [to_scoring_tag(t) for t in ("M-LOC", "B-LOC", "O", "E-M-X")] == ["I-LOC", "B-LOC", "O", "E-M-X"]
    # IOBES: a continuation (I/M/E) must follow B/I/M of its own type
    iobes = [["B-LOC", "M-LOC", "E-LOC", "S-PER"], ["O", "E-LOC"], ["B-LOC", "I-PER"], ["S-LOC", "M-LOC"],
             ["B-LOC", "E-LOC", "E-LOC"]]
    report = count_illegal(iobes, "IOBES")
    assert (report.scheme, report.illegal, report.sentences_with_illegal) == ("IOBES", 4, 4)
    # IOB1 lets an I- tag start an entity: nothing is illegal
    assert count_illegal([["I-PER", "I-LOC", "O", "I-ORG"]], "IOB1").illegal == 0
    assert count_illegal([["O", "I-PER", "I-PER"], ["I-LOC"], ["B-PER", "I-PER"]], "IOB2").illegal == 2
    assert count_illegal([], "IOB2").sentences_with_illegal == 0


def test_scheme_detection_edge_cases():
    assert detect_scheme([]) == "IOB2"
    assert detect_scheme([["O", "O"]]) == "IOB2"
    assert detect_scheme([["B-PER"], ["M-LOC"]]) == "IOBES"  # any E-/S-/M- decides
    assert detect_scheme([["I-PER", "B-PER"]]) == "IOB1"  # B- only between two same-type entities
    assert detect_scheme([["I-PER", "B-LOC"]]) == "IOB2"  # B- after another type: BIO
    assert detect_scheme([["I-PER", "I-PER", "B-PER", "I-LOC"]]) == "IOB1"
    assert detect_scheme([["B-PER", "I-PER"]]) == "IOB2"


def test_iobes_repair_closes_every_entity():
    assert repair(["B-LOC", "M-LOC", "O"], "IOBES") == ["B-LOC", "E-LOC", "O"]
    assert repair(["B-LOC", "I-LOC"], "IOBES") == ["B-LOC", "E-LOC"]
    assert repair(["B-LOC"], "IOBES") == ["S-LOC"]
    assert repair(["B-LOC", "I-LOC", "I-LOC", "B-PER"], "IOBES") == ["B-LOC", "I-LOC", "E-LOC", "S-PER"]
    assert repair(["I-LOC", "E-LOC", "E-PER"], "IOBES") == ["B-LOC", "E-LOC", "S-PER"]
    assert repair(["O", "I-PER", "O"], "IOB1") == ["O", "B-PER", "O"]
    assert repair(["B-PER", "I-PER", "I-LOC"], "IOB2") == ["B-PER", "I-PER", "B-LOC"]
    assert repair([], "IOBES") == []


def test_tag_id_errors_name_the_range(tmp_path):
    path = tmp_path / "ids.jsonl"
    path.write_text('{"tokens": ["a", "b"], "ner_tags": [0, -1]}\n', encoding="utf-8")
    with pytest.raises(DataFormatError) as error:
        name_tag_ids(read_token_file(str(path)), ["O", "B-PER"])
    assert str(error.value) == (f"{path}, line 1: tag '-1' is not an id between 0 and 1, but --tag_names says tags "
                                "are ids of 2 names.")
    path.write_text('{"tokens": ["a", "b"], "ner_tags": [1, "B-PER"]}\n', encoding="utf-8")
    with pytest.raises(DataFormatError, match="tag 'B-PER' is not an id"):
        name_tag_ids(read_token_file(str(path)), ["O", "B-PER"])
    path.write_text('{"tokens": ["a", "b"], "ner_tags": [1, 2]}\n', encoding="utf-8")
    with pytest.raises(DataFormatError, match="tag '2' is not an id between 0 and 1"):
        name_tag_ids(read_token_file(str(path)), ["O", "B-PER"])
    untagged = read_token_file(str(path))
    untagged.sentences[0].tags = None
    name_tag_ids(untagged, ["O"])  # untagged sentences are left alone
    validate_tags(untagged)
    assert untagged.sentences[0].tags is None


def test_unknown_tag_message_in_full(tmp_path):
    path = tmp_path / "t.txt"
    path.write_text("a\tB-X\nb\tZ\n", encoding="utf-8")
    with pytest.raises(DataFormatError) as error:
        validate_tags(read_token_file(str(path)))
    assert str(error.value) == (f"{path}, line 2: unknown tag 'Z'. Tags must be 'O' or a prefix B-, I-, E-, M- or S- "
                                "followed by the entity type (e.g. B-PER).")
    for good in ("O", "S-PER", "M-LOC", "E-ORG", "I-A B"):
        path.write_text(f"a\t{good}\n" if " " not in good else f"a\t{good}\n", encoding="utf-8")
        validate_tags(read_token_file(str(path)))


def test_tag_names_must_be_distinct_and_listed():
    with pytest.raises(ValueError) as error:
        parse_tag_names('{"O": 0}')
    assert str(error.value) == "--tag_names must list distinct, non-empty names in id order; got '{\"O\": 0}'."
    assert parse_tag_names("[0, 1]") == ["0", "1"]
    with pytest.raises(ValueError, match="distinct"):
        parse_tag_names('["O", " "]')


def test_detection_sees_an_i_after_another_type_as_a_start():
    assert detect_scheme([["I-PER", "I-LOC"]]) == "IOB1"  # two entities, each starting with I-
    assert detect_scheme([["B-PER", "B-PER"]]) == "IOB2"
    assert detect_scheme([["I-PER", "B-PER", "I-PER"]]) == "IOB1"
    assert detect_scheme([["I-PER", "I-PER", "B-LOC"]]) == "IOB2"


def test_repair_of_a_lone_end_tag_followed_by_a_continuation():
    # E- cannot start an entity: it becomes a single-token S-; the I- after it then starts (and ends) its own
    assert repair(["E-LOC", "I-LOC"], "IOBES") == ["S-LOC", "S-LOC"]
    assert repair(["O", "I-LOC", "M-LOC", "E-LOC"], "IOBES") == ["O", "B-LOC", "M-LOC", "E-LOC"]


def test_untagged_sentences_are_skipped_not_the_rest(tmp_path):
    path = tmp_path / "ids.jsonl"
    path.write_text('{"tokens": ["a"], "ner_tags": [0]}\n{"tokens": ["b"], "ner_tags": [1]}\n', encoding="utf-8")
    token_file = read_token_file(str(path))
    token_file.sentences[0].tags = None
    name_tag_ids(token_file, ["O", "B-PER"])
    assert token_file.sentences[1].tags == ["B-PER"]
    token_file.sentences[1].tags = ["bad"]
    with pytest.raises(DataFormatError, match="line 2: unknown tag 'bad'"):
        validate_tags(token_file)
    path.write_text('{"tokens": ["a"], "ner_tags": ["²"]}\n', encoding="utf-8")
    with pytest.raises(DataFormatError, match="tag '²' is not an id between 0 and 1"):
        name_tag_ids(read_token_file(str(path)), ["O", "B-PER"])


def test_integer_tag_hint_in_full(tmp_path):
    path = tmp_path / "ids.txt"
    path.write_text("a\t3\n", encoding="utf-8")
    with pytest.raises(DataFormatError) as error:
        validate_tags(read_token_file(str(path)))
    assert str(error.value) == (
        f"{path}, line 1: unknown tag '3'. Tags must be 'O' or a prefix B-, I-, E-, M- or S- followed by the entity "
        "type (e.g. B-PER). It looks like an integer tag id: pass --tag_names with the tag names in id order (for a "
        "Hugging Face dataset: features['ner_tags'].feature.names).")
    with pytest.raises(ValueError, match=r"^--tag_names: expected a comma-separated list"):
        parse_tag_names("O,,B-PER")


def test_any_one_of_e_s_m_means_iobes_and_b_after_b_of_a_type_keeps_iob1():
    assert [detect_scheme([tags]) for tags in (["B-X", "E-X"], ["S-X"], ["B-X", "M-X"])] == ["IOBES"] * 3
    assert detect_scheme([["I-PER", "B-PER", "B-PER"]]) == "IOB1"  # B- after B- of the same type separates entities


def test_fix_tags_repairs_training_only_and_the_model_keeps_its_scheme():
    from types import SimpleNamespace

    from transformers import BertConfig

    from bertft_utils.data.readers import TaggedSentence, TokenFile
    from bertft_utils.tasks.ner import TAG_SCHEME_KEY, NerTask, check_tags

    def token_file(tags):
        return TokenFile("f.txt", "conll", [TaggedSentence(list("abc"), list(tags), [1, 2, 3])], [], 3)

    iob1 = ["I-PER", "I-PER", "O"]  # IOB1: an entity may start with I-
    splits = {"train": token_file(iob1), "test": token_file(iob1)}
    report = check_tags(splits, None, fix=True)
    assert report["scheme"] == "IOB1" and report["training_scheme"] == "IOB2"
    assert splits["train"].sentences[0].tags == ["B-PER", "I-PER", "O"]  # repaired for training (IOB1 -> IOB2)
    assert splits["test"].sentences[0].tags == iob1  # the test gold is scored, and written, as given

    data_args = SimpleNamespace(tag_names=None, decoding="viterbi", tag_scheme=None)
    task = NerTask(data_args)
    model = SimpleNamespace(config=BertConfig())
    head = task.extend_model(model, ["B-PER", "I-PER", "O"], None, True, False, task.configure(BertConfig()), report)
    assert head.scheme == "IOB2" and getattr(model.config, TAG_SCHEME_KEY) == "IOB2"
    # later, predicting raw text only (no gold to detect a scheme from): the stored scheme decodes
    later = NerTask(data_args)
    stored = later.configure(SimpleNamespace(**{TAG_SCHEME_KEY: "IOB1"}))
    head = later.extend_model(SimpleNamespace(config=BertConfig()), ["I-PER", "O"], None, False, False, stored,
                              {"tagged": False})
    assert head.scheme == "IOB1"


def test_a_crf_is_not_trained_on_illegal_gold_unless_it_is_repaired():
    from types import SimpleNamespace

    from transformers import BertConfig

    from bertft_utils.tasks.ner import NerTask

    task = NerTask(SimpleNamespace(tag_names=None, decoding="crf", tag_scheme=None))
    report = {"scheme": "IOB2", "training_scheme": "IOB2", "fixed": False, "tagged": True,
              "illegal": {"train": {"tags": 3, "sentences": 2}}}
    with pytest.raises(ValueError, match=r"the training data has 3 illegal tag transitions .* Add --fix_tags"):
        task.extend_model(SimpleNamespace(config=BertConfig()), ["B-PER", "I-PER", "O"], None, True, False,
                          task.configure(BertConfig()), report)
