import json
from collections import Counter

import pytest

from bertft_utils.data.splits import read_split, stratified_split, write_split


def test_stratified_split_keeps_class_proportions_and_is_seeded():
    labels = ["a"] * 600 + ["b"] * 400
    splits = stratified_split(labels, 10, 10, seed=1)
    assert {k: len(v) for k, v in splits.items()} == {"train": 800, "validation": 100, "test": 100}
    assert Counter(labels[i] for i in splits["test"]) == {"a": 60, "b": 40}
    assert splits == stratified_split(labels, 10, 10, seed=1)
    assert splits != stratified_split(labels, 10, 10, seed=2)
    all_ids = splits["train"] + splits["validation"] + splits["test"]
    assert sorted(all_ids) == list(range(1000))


def test_rare_classes_stay_in_training():
    labels = ["rare"] + ["two"] * 2 + ["common"] * 97
    splits = stratified_split(labels, 30, 30, seed=0)
    train_labels = {labels[i] for i in splits["train"]}
    assert {"rare", "two"} <= train_labels


def test_split_round_trip_and_checks(tmp_path):
    splits = stratified_split(["x", "y"] * 10, 10, 10, seed=3)
    path = write_split(str(tmp_path), splits, "data.jsonl", 3, (10, 10))
    assert json.loads(open(path).read())["sizes"] == {k: len(v) for k, v in splits.items()}
    assert read_split(path, 20)[0] == splits
    with pytest.raises(ValueError, match="outside the data file, which has 5 records"):
        read_split(path, 5)


def test_sample_indices_is_seeded_stratified_and_in_file_order():
    from bertft_utils.data.splits import sample_indices

    labels = ["a"] * 50 + ["b"] * 30 + ["c"] * 15 + ["d"] * 5  # sorted by label, as Taipei QA is
    chosen = sample_indices(len(labels), 20, seed=1, labels=labels)
    assert chosen == sorted(chosen) and len(set(chosen)) == 20
    assert [sum(labels[i] == k for i in chosen) for k in "abcd"] == [10, 6, 3, 1]
    assert chosen == sample_indices(len(labels), 20, seed=1, labels=labels)
    assert chosen != sample_indices(len(labels), 20, seed=2, labels=labels)
    few = sample_indices(len(labels), 4, seed=1, labels=labels)  # as many as labels: one each
    assert sorted(labels[i] for i in few) == ["a", "b", "c", "d"]
    assert sample_indices(10, None, seed=1) == list(range(10)) and sample_indices(10, 99, seed=1) == list(range(10))
    plain = sample_indices(100, 7, seed=3)
    assert len(plain) == 7 and plain == sorted(plain) and plain != list(range(7))


def split_args(tmp_path, **kwargs):
    from types import SimpleNamespace

    values = {"train_file": str(tmp_path / "train.jsonl"), "validation_file": None, "test_file": None,
              "split_file": None, "validation_split_percentage": 10.0, "test_split_percentage": 10.0,
              "split_seed": 42, **kwargs}
    return SimpleNamespace(**values)


def test_split_file_must_cover_every_record_and_keeps_its_own_settings(tmp_path):
    import json

    from bertft_utils.data.splits import split_train_file

    labels = ["a", "b"] * 10
    path = write_split(str(tmp_path / "old"), stratified_split(labels, 20, 10, 7), "train.jsonl", 7, (20.0, 10.0))
    reused = split_train_file(split_args(tmp_path, split_file=path), labels, str(tmp_path / "new"), write=True)
    written = json.loads((tmp_path / "new" / "split_ids.json").read_text())
    assert written["seed"] == 7 and written["validation_percentage"] == 20.0 and reused["test"] == written["test"]
    with pytest.raises(ValueError, match=r"2 of the data file's 22 records are in no split \(record ids \[20, 21\]\)"):
        split_train_file(split_args(tmp_path, split_file=path), labels + ["a", "b"], str(tmp_path / "x"), False)
    with pytest.raises(ValueError, match=r"holds 2 test records of --train_file, but --test_file t\.jsonl was given"):
        split_train_file(split_args(tmp_path, split_file=path, test_file="t.jsonl"), labels, str(tmp_path), False)


def test_the_split_is_the_same_whatever_the_run_does(tmp_path):
    from bertft_utils.data.splits import split_train_file

    labels = ["a", "b"] * 10
    split = split_train_file(split_args(tmp_path), labels, str(tmp_path), False)
    # the old rule held nothing out for a run without --do_eval/--do_predict: a later --do_predict scored on it
    assert len(split["train"]) == 16 and len(split["validation"]) == 2 and len(split["test"]) == 2
    assert split == stratified_split(labels, 10, 10, 42)


def test_identical_texts_share_a_split():
    labels = ["a", "b"] * 50
    texts = [f"text {i % 30}" if i % 3 else f"text  {i % 30} " for i in range(100)]  # 30 texts, spaced differently
    split = stratified_split(labels, 20, 20, seed=5, groups=[" ".join(t.split()) for t in texts])
    where = {}
    for name, ids in split.items():
        for i in ids:
            where.setdefault(" ".join(texts[i].split()), set()).add(name)
    assert len(where) == 30 and all(len(names) == 1 for names in where.values())
    assert split["validation"] and split["test"]
    singletons = stratified_split(labels, 20, 20, seed=5, groups=list(range(100)))
    assert singletons == stratified_split(labels, 20, 20, seed=5)  # no duplicates: the split of before


def test_train_overlap_counts_identical_and_near_identical_records():
    from bertft_utils.data.splits import train_overlap

    counts = train_overlap(["Hello  world", "Other"], ["hello world!", "Hello world", "new"])
    assert counts == {"records": 3, "identical_in_train": 1, "near_identical_in_train": 2,
                      "identical_examples": ["Hello world"], "identical_indices": [1]}


def test_a_model_folder_lends_its_split_for_the_same_file_and_refuses_another(tmp_path, caplog):
    from bertft_utils.data.splits import split_train_file

    data = tmp_path / "train.jsonl"
    data.write_text("".join(f'{{"text": "t{i}", "label": "{i % 2}"}}\n' for i in range(20)))
    labels = [str(i % 2) for i in range(20)]
    model = tmp_path / "model"
    trained = split_train_file(split_args(tmp_path, split_seed=7), labels, str(model), True)
    with caplog.at_level("INFO", logger="bertft_utils"):
        again = split_train_file(split_args(tmp_path, split_seed=7), labels, str(tmp_path / "eval"), False,
                                 model_name_or_path=str(model))
    assert again == trained and trained != stratified_split(labels, 10, 10, 42)
    with pytest.raises(ValueError, match=r"--split_seed 42 \(the model's split: 7\)"):
        split_train_file(split_args(tmp_path), labels, str(tmp_path), False, model_name_or_path=str(model))
    assert "Using the split" in caplog.text and json.loads((model / "split_ids.json").read_text())["source_sha256"]
    with pytest.raises(ValueError, match=r"--test_split_percentage 20.0 \(the model's split: 10.0\)"):
        split_train_file(split_args(tmp_path, split_seed=7, test_split_percentage=20.0), labels, str(tmp_path),
                         False, model_name_or_path=str(model))
    data.write_text(data.read_text() + '{"text": "t20", "label": "0"}\n')
    with pytest.raises(ValueError, match="has other content .* --new_split"):
        split_train_file(split_args(tmp_path, split_seed=7), labels + ["0"], str(tmp_path), False,
                         model_name_or_path=str(model))
    fresh = split_train_file(split_args(tmp_path, new_split=True), labels + ["0"], str(tmp_path), False,
                             model_name_or_path=str(model))
    assert fresh == stratified_split(labels + ["0"], 10, 10, 42)


def test_split_sizes_per_class_are_exact():
    labels = ["a"] * 7 + ["b"] * 3 + ["c"] * 2 + ["d"]
    splits = stratified_split(labels, 20, 30, seed=5)
    per = {name: Counter(labels[i] for i in ids) for name, ids in splits.items()}
    # a: test round(2.1)=2, validation round(1.4)=1; b: test round(0.9)=1, validation round(0.6)=1 -> 1 left in train
    # c: 1+0 would leave 1, but test round(0.6)=1 + validation round(0.4)=0 = 1 <= 1 ok; d: nothing held out
    assert per["test"] == {"a": 2, "b": 1, "c": 1}
    assert per["validation"] == {"a": 1, "b": 1}
    assert per["train"] == {"a": 4, "b": 1, "c": 1, "d": 1}
    for ids in splits.values():
        assert ids == sorted(ids)
    # too much asked of a small class: test and validation give way in turn, keeping one for training
    small = stratified_split(["x"] * 3, 50, 50, seed=0)
    assert [len(small[n]) for n in ("train", "validation", "test")] == [1, 1, 1]
    tiny = stratified_split(["x"] * 2, 40, 60, seed=0)  # one each asked: a tie takes from test
    assert [len(tiny[n]) for n in ("train", "validation", "test")] == [1, 1, 0]
    mostly_validation = stratified_split(["x"] * 3, 100, 0, seed=0)
    assert [len(mostly_validation[n]) for n in ("train", "validation", "test")] == [1, 2, 0]
    assert stratified_split([], 10, 10, seed=0) == {"train": [], "validation": [], "test": []}


def test_split_file_contents_and_every_check(tmp_path):
    splits = {"train": [0, 2], "validation": [1], "test": [3]}
    path = write_split(str(tmp_path / "out"), splits, "/data/dir/train.jsonl", 11, (25.0, 25.0))
    assert path == str(tmp_path / "out" / "split_ids.json")
    payload = json.loads(open(path).read())
    assert payload == {"source_file": "train.jsonl", "source_sha256": None, "index_base": 0,
                       "note": "indices count records (non-blank lines / sentences) of source_file, in file order; "
                               "records with the same text (after whitespace normalisation) share a split",
                       "seed": 11, "validation_percentage": 25.0, "test_percentage": 25.0,
                       "sizes": {"train": 2, "validation": 1, "test": 1}, **splits}
    assert read_split(path, 4) == (splits, {"seed": 11, "validation_percentage": 25.0, "test_percentage": 25.0,
                                            "source_file": "train.jsonl", "source_sha256": None})
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"train": [0], "validation": []}))
    with pytest.raises(ValueError) as error:
        read_split(str(bad), 1)
    assert str(error.value) == f"{bad}: not a split file (missing ['test'])."
    bad.write_text(json.dumps({"train": [0, 1], "validation": [1], "test": []}))
    with pytest.raises(ValueError) as error:
        read_split(str(bad), 2)
    assert str(error.value) == f"{bad}: index 1 appears in more than one split."
    bad.write_text(json.dumps({"train": [0], "validation": [-1], "test": []}))
    with pytest.raises(ValueError) as error:
        read_split(str(bad), 2)
    assert str(error.value) == (f"{bad}: index -1 in 'validation' is outside the data file, which has 2 records. Was "
                                "the split written for another file?")
    bad.write_text(json.dumps({"train": [0], "validation": [], "test": [2]}))
    with pytest.raises(ValueError, match=r"index 2 in 'test' is outside"):
        read_split(str(bad), 2)
    bad.write_text(json.dumps({"train": [], "validation": [], "test": []}))
    with pytest.raises(ValueError) as error:
        read_split(str(bad), 12)
    assert str(error.value) == (f"{bad}: 12 of the data file's 12 records are in no split (record ids [0, 1, 2, 3, 4, "
                                "5, 6, 7, 8, 9] ...). Was the split written for another file? Make a new split (leave "
                                "out --split_file).")


def test_sample_shares_follow_the_largest_remainders():
    from bertft_utils.data.splits import sample_indices

    labels = ["a"] * 5 + ["b"] * 3 + ["c"] * 2
    # n=5: shares a 2.5, b 1.5, c 1.0 -> floors 2, 1, 1; one more to the largest remainder (a and b tie: a first)
    chosen = sample_indices(10, 5, seed=0, labels=labels)
    assert [sum(labels[i] == k for i in chosen) for k in "abc"] == [3, 1, 1]
    # fewer records than labels: no floor of one; shares a 1.0, b 0.6, c 0.4 -> 1 + largest remainder b
    two = sample_indices(10, 2, seed=0, labels=labels)
    assert [sum(labels[i] == k for i in two) for k in "abc"] == [1, 1, 0]
    # the floor of one per label overshoots n: taken back from the largest count
    skewed = ["a"] * 97 + ["b", "c", "d"]
    four = sample_indices(100, 4, seed=0, labels=skewed)
    assert sorted(skewed[i] for i in four) == ["a", "b", "c", "d"]
    three = sample_indices(100, 3, seed=0, labels=skewed)
    assert [skewed[i] for i in three] == ["a", "a", "a"]  # n below the label count: shares only (a 2.91)
    assert sample_indices(10, 10, seed=0, labels=labels) == list(range(10))
    assert sample_indices(10, 0, seed=0) == []


def test_split_train_file_percentages_and_seed(tmp_path):
    from bertft_utils.data.splits import split_train_file

    labels = ["a"] * 50 + ["b"] * 50
    result = split_train_file(split_args(tmp_path, validation_split_percentage=20.0, test_split_percentage=10.0,
                                         split_seed=3), labels, str(tmp_path / "o"), write=True)
    assert [len(result[n]) for n in ("train", "validation", "test")] == [70, 20, 10]
    assert result == stratified_split(labels, 20.0, 10.0, 3)
    written = json.loads((tmp_path / "o" / "split_ids.json").read_text())
    assert (written["seed"], written["validation_percentage"], written["test_percentage"]) == (3, 20.0, 10.0)
    given = split_train_file(split_args(tmp_path, validation_file="v.jsonl"), labels, str(tmp_path / "p"), False)
    assert not given["validation"] and len(given["test"]) == 10 and not (tmp_path / "p").exists()
    path = write_split(str(tmp_path / "q"), {"train": list(range(90)), "validation": list(range(90, 100)),
                                             "test": []}, "t", 1, (10.0, 0.0))
    with pytest.raises(ValueError, match=r"holds 10 validation records of --train_file, but --validation_file v"):
        split_train_file(split_args(tmp_path, split_file=path, validation_file="v.jsonl"), labels, str(tmp_path), False)
    assert split_train_file(split_args(tmp_path, split_file=path, test_file="t.jsonl"), labels, str(tmp_path),
                            False)["validation"] == list(range(90, 100))


def test_labels_of_any_type_split_and_sample_deterministically():
    from bertft_utils.data.splits import sample_indices

    mixed = [0, "a", 0, "a", 1.5, "a", 0, 0, "a", "a"]  # not mutually comparable: ordered by their text
    assert stratified_split(mixed, 20, 20, seed=1) == stratified_split(mixed, 20, 20, seed=1)
    assert len(sample_indices(len(mixed), 4, seed=1, labels=mixed)) == 4


def test_sample_ties_and_overshoot_are_resolved_by_name_and_count():
    from bertft_utils.data.splits import sample_indices

    def counts(labels, n):
        chosen = sample_indices(len(labels), n, seed=0, labels=labels)
        assert len(chosen) == n
        return {k: sum(labels[i] == k for i in chosen) for k in sorted(set(labels))}

    # floors a2 b2 c1 d1 = 6 > 5: the largest count gives one back; a tie goes to the label that sorts last
    assert counts(["a"] * 5 + ["b"] * 5 + ["c", "d"], 5) == {"a": 2, "b": 1, "c": 1, "d": 1}
    # floors a3 b3 c1 d1 = 8 > 7: one back, not down to one
    assert counts(["a"] * 8 + ["b"] * 8 + ["c", "d"], 7) == {"a": 3, "b": 2, "c": 1, "d": 1}
    # floors a9 b9 c1 = 19 < 20: c has the largest remainder but no record left: a (then b) gets it
    assert counts(["a"] * 10 + ["b"] * 10 + ["c"], 20) == {"a": 10, "b": 9, "c": 1}


def test_given_files_hold_nothing_out_and_a_missing_one_is_always_held_out(tmp_path):
    from bertft_utils.data.splits import split_train_file

    labels = ["a"] * 100 + ["b"] * 100  # 1% of 100 is 1: anything but 0% would hold one out
    given = split_train_file(split_args(tmp_path, validation_file="v.jsonl", test_file="t.jsonl"), labels,
                             str(tmp_path), False)
    assert given["train"] == list(range(200)) and not given["validation"] and not given["test"]
    test_given = split_train_file(split_args(tmp_path, test_file="t.jsonl"), labels, str(tmp_path), False)
    assert len(test_given["validation"]) == 20 and not test_given["test"]


def test_ten_absent_records_are_listed_without_an_ellipsis(tmp_path):
    path = tmp_path / "s.json"
    path.write_text(json.dumps({"train": [10], "validation": [], "test": []}))
    with pytest.raises(ValueError, match=r"\(record ids \[0, 1, 2, 3, 4, 5, 6, 7, 8, 9\]\)\. Was"):
        read_split(str(path), 11)
    path.write_text(json.dumps({"train": [], "validation": [], "test": []}))
    with pytest.raises(ValueError, match=r"\(record ids \[0, 1, 2, 3, 4, 5, 6, 7, 8, 9\] \.\.\.\)\. Was"):
        read_split(str(path), 11)


def test_the_extra_record_goes_to_the_largest_remainder_only():
    from bertft_utils.data.splits import sample_indices

    labels = ["a"] * 10 + ["b"] * 3 + ["c"] * 3
    chosen = sample_indices(len(labels), 8, seed=0, labels=labels)
    # shares a 5, b 1.5, c 1.5: floors 5, 1, 1 and the one left goes to b (tie with c, b sorts first)
    assert [sum(labels[i] == k for i in chosen) for k in "abc"] == [5, 2, 1]


def test_a_file_of_one_text_repeated_holds_nothing_out_and_says_why(tmp_path, caplog):
    from bertft_utils.data.splits import split_train_file

    with caplog.at_level("INFO", logger="bertft_utils"):
        split = split_train_file(split_args(tmp_path), ["a"] * 20, str(tmp_path), False, texts=["same text"] * 20)
    assert len(split["train"]) == 20 and not split["validation"] and not split["test"]
    assert "20 records, 1 distinct texts" in caplog.text
    assert "no test records could be held out (10% asked)" in caplog.text and "Give --test_file" in caplog.text


def test_the_model_split_and_a_given_file_for_its_held_out_part_are_refused_together(tmp_path):
    from bertft_utils.data.splits import split_train_file

    (tmp_path / "train.jsonl").write_text("x\n" * 20)
    model = tmp_path / "model"
    split_train_file(split_args(tmp_path), ["a", "b"] * 10, str(model), True)
    with pytest.raises(ValueError, match=r"The split of the model \(.*\) holds 2 validation records of --train_file, "
                                         r"but --validation_file v.jsonl was given too.* pass --new_split"):
        split_train_file(split_args(tmp_path, validation_file="v.jsonl"), ["a", "b"] * 10, str(tmp_path), False,
                         model_name_or_path=str(model))


def test_the_split_of_a_file_is_the_one_earlier_versions_made():
    """Splits are published with results: a faster implementation must give the same records for the same seed.
    The digests were taken from the split as bertft made it before its grouping was vectorised (commit a4ceb2c)."""
    import hashlib
    import random

    from bertft_utils.data.splits import normalized_text, text_groups

    rng = random.Random(5)
    labels = [rng.choice(["neg", "pos", "mid", "rare"]) if i % 97 else "rare" for i in range(20000)]
    texts = [f"text  {rng.randrange(15000)} " for _ in range(20000)]
    digests = {}
    for name, groups in (("records", None), ("texts", [normalized_text(t) for t in texts]),
                         ("text groups", text_groups(texts)[0])):
        splits = stratified_split(labels, 10, 15, 42, groups)
        digests[name] = hashlib.sha256(json.dumps(splits).encode()).hexdigest()
    texts_digest = "4437345aed1b1c4ee117a52da1aa595122c67b1238bbbca961adc57f41617aec"
    assert digests == {"records": "b4df9daa05984360436931f5b14e1bbac7b620019390b358c8cb5fd548be6af7",
                       "texts": texts_digest, "text groups": texts_digest}


def test_texts_are_grouped_by_arrow_as_normalized_text_groups_them():
    """Arrow's whitespace class is Python's (every character str.split() splits on, and no other), so the groups
    are those of normalized_text; a text Arrow cannot hold (a lone surrogate) is grouped by Python."""
    import sys

    import pandas as pd

    from bertft_utils.data.splits import normalized_text, text_groups

    spaces = [chr(code) for code in range(sys.maxunicode + 1) if chr(code).isspace()]
    near_spaces = ["\u200b", "\u180e", "\ufeff", "\x1b", "\x7f", "_"]  # not whitespace to Python
    texts = [f"{a}x{b}y{a}{b}" for a in spaces for b in [*spaces, *near_spaces, ""]]
    texts += ["x y", " x y ", "x  y", "xy", "x\u200by", "", " ", "北京 大学", "北京\u3000大学"]
    for batch in (texts, [*texts, "lone \ud800 surrogate", "lone  \ud800 surrogate"]):
        codes, distinct = text_groups(batch)
        expected, uniques = pd.factorize(pd.Series([normalized_text(t) for t in batch], dtype=object))
        assert codes.tolist() == expected.tolist() and distinct == len(uniques)


def test_texts_are_grouped_chunk_by_chunk_as_in_one_pass(monkeypatch):
    """Arrow normalises GROUPED_AT_ONCE texts at a time: a text seen in an earlier chunk keeps its group, and the
    groups are counted over all chunks."""
    from bertft_utils.data import splits

    texts = ["b", "a ", " a", "c", "b", "d", "a", "e", "c  ", "f"]
    whole = splits.text_groups(texts)
    monkeypatch.setattr(splits, "GROUPED_AT_ONCE", 3)
    codes, distinct = splits.text_groups(texts)
    assert codes.tolist() == whole[0].tolist() == [0, 1, 1, 2, 0, 3, 1, 4, 2, 5] and distinct == whole[1] == 6
    assert splits.text_groups([])[1] == 0 and splits.text_groups(texts[:3])[1] == 2


def test_a_split_file_of_other_content_is_refused_naming_both_digests(tmp_path, caplog):
    """The same number of records in another order: every index would pick another record (Taipei QA: 648 of 798
    "test" records were training records of the file the split was made of)."""
    from bertft_utils.data.readers import file_sha256
    from bertft_utils.data.splits import split_train_file

    lines = [f'{{"text": "t{i}", "label": "{"ab"[i % 2]}"}}\n' for i in range(20)]
    train = tmp_path / "train.jsonl"
    train.write_text("".join(lines), encoding="utf-8")
    labels = ["a", "b"] * 10
    path = write_split(str(tmp_path / "old"), stratified_split(labels, 20, 10, 7), str(train), 7, (20.0, 10.0))
    assert split_train_file(split_args(tmp_path, split_file=path), labels, str(tmp_path / "same"), write=False)
    before = file_sha256(str(train))
    train.write_text("".join(reversed(lines)), encoding="utf-8")  # same size, other order
    with pytest.raises(ValueError, match=rf"indexes the records of train.jsonl with SHA-256 {before}, but --train_file "
                                         rf".*train.jsonl has SHA-256 {file_sha256(str(train))}: the same indices"):
        split_train_file(split_args(tmp_path, split_file=path), labels, str(tmp_path / "other"), write=False)
