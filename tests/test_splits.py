import json
from collections import Counter

import pytest

from bertft_utils.splits import read_split, stratified_split, write_split


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
    from bertft_utils.splits import sample_indices

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

    from bertft_utils.splits import split_train_file

    labels = ["a", "b"] * 10
    path = write_split(str(tmp_path / "old"), stratified_split(labels, 20, 10, 7), "train.jsonl", 7, (20.0, 10.0))
    reused = split_train_file(split_args(tmp_path, split_file=path), labels, str(tmp_path / "new"), write=True)
    written = json.loads((tmp_path / "new" / "split_ids.json").read_text())
    assert written["seed"] == 7 and written["validation_percentage"] == 20.0 and reused["test"] == written["test"]
    with pytest.raises(ValueError, match=r"2 of the data file's 22 records are in no split \(record ids \[20, 21\]\)"):
        split_train_file(split_args(tmp_path, split_file=path), labels + ["a", "b"], str(tmp_path / "x"), False)
    with pytest.raises(ValueError, match=r"holds 2 test records of --train_file, but --test_file t\.jsonl was given"):
        split_train_file(split_args(tmp_path, split_file=path, test_file="t.jsonl"), labels, str(tmp_path), False)


def test_nothing_is_held_out_for_nothing(tmp_path, caplog):
    from bertft_utils.splits import split_train_file

    labels = ["a", "b"] * 10
    with caplog.at_level("INFO", logger="bertft_utils"):
        only_train = split_train_file(split_args(tmp_path), labels, str(tmp_path), False, needed=(False, False))
    assert len(only_train["train"]) == 20 and not only_train["validation"] and not only_train["test"]
    assert "No validation records are held out" in caplog.text and "(no --do_predict)" in caplog.text
    with_test = split_train_file(split_args(tmp_path), labels, str(tmp_path), False, needed=(False, True))
    assert len(with_test["test"]) == 2 and not with_test["validation"]
