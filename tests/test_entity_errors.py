"""Partial-match NER scores (nervaluate) and the error kinds of each entity."""

import random

import pytest
from seqeval.metrics import f1_score, precision_score, recall_score
from seqeval.scheme import IOB2, IOBES

from bertft_utils.evaluation.entity_errors import (
    entity_error_scores,
    error_kinds,
    partial_match_scores,
    sentence_entities,
)


def random_tags(rng: random.Random, scheme: str, length: int) -> list[str]:
    """Tags drawn at random, ill-formed sequences included (an I- after O, a type change inside an entity)."""
    prefixes = "BI" if scheme == "IOB2" else "BIES"
    return [rng.choice(["O", "O", *(f"{p}-{t}" for p in prefixes for t in ("PER", "LOC"))]) for _ in range(length)]


@pytest.mark.parametrize("strict_scheme", [None, "IOB2", "IOBES"])
def test_strict_scheme_equals_seqeval(strict_scheme):
    rng = random.Random(7)
    scheme = strict_scheme or "IOB2"
    gold = [random_tags(rng, scheme, rng.randint(1, 12)) for _ in range(300)]
    predicted = [[tag if rng.random() < 0.7 else rng.choice(random_tags(rng, scheme, 3)) for tag in tags]
                 for tags in gold]
    kwargs = {"mode": "strict", "scheme": {"IOB2": IOB2, "IOBES": IOBES}[strict_scheme]} if strict_scheme else {}
    scores = entity_error_scores(gold, predicted, strict_scheme)
    assert scores["strict_precision"] == pytest.approx(precision_score(gold, predicted, **kwargs))
    assert scores["strict_recall"] == pytest.approx(recall_score(gold, predicted, **kwargs))
    assert scores["strict_f1"] == pytest.approx(f1_score(gold, predicted, **kwargs))


def test_seqeval_strict_mode_drops_ill_formed_entities():
    tags = ["I-PER", "I-PER", "O", "B-LOC", "I-LOC"]
    assert sentence_entities(tags) == [("PER", 0, 2), ("LOC", 3, 5)]
    assert sentence_entities(tags, "IOB2") == [("LOC", 3, 5)]


def test_each_scheme_counts_a_boundary_error_and_a_type_error_as_semeval_does():
    gold = [[("PER", 0, 3), ("LOC", 5, 7)]]
    predicted = [[("PER", 0, 2), ("ORG", 5, 7)]]  # PER cut short, LOC given the wrong type
    overall = partial_match_scores(gold, predicted)["overall"]
    assert [overall["strict"][c] for c in ("correct", "incorrect", "missed", "spurious")] == [0, 2, 0, 0]
    assert [overall["exact"][c] for c in ("correct", "incorrect")] == [1, 1]
    assert [overall["partial"][c] for c in ("correct", "partial")] == [1, 1]
    assert overall["partial"]["f1"] == pytest.approx(0.75)  # (1 + 0.5 * 1) / 2
    assert [overall["type"][c] for c in ("correct", "incorrect")] == [1, 1]


def test_error_kinds_of_gold_and_predicted_entities():
    gold = [("PER", 0, 3), ("LOC", 5, 7), ("ORG", 9, 12), ("LOC", 14, 15), ("PER", 20, 22)]
    predicted = [("PER", 0, 2), ("ORG", 5, 7), ("LOC", 10, 12), ("PER", 20, 22), ("LOC", 30, 31)]
    gold_kinds, predicted_kinds = error_kinds(gold, predicted)
    assert gold_kinds == ["wrong_boundary", "wrong_type", "wrong_boundary_and_type", "missed", "correct"]
    assert predicted_kinds == ["wrong_boundary", "wrong_type", "wrong_boundary_and_type", "correct", "spurious"]


def test_error_table_attributes_a_type_confusion_to_the_gold_type():
    gold_tags = [["B-PER", "I-PER", "O", "B-LOC", "O"], ["O", "B-ORG"]]
    predicted_tags = [["B-LOC", "I-LOC", "O", "B-LOC", "B-PER"], ["O", "O"]]
    scores = entity_error_scores(gold_tags, predicted_tags)
    table = scores["entity_errors"]
    assert table["PER"] == {"gold": 1, "correct": 0, "wrong_type": 1, "wrong_boundary": 0,
                            "wrong_boundary_and_type": 0, "missed": 0, "spurious": 1}
    assert (table["LOC"]["correct"], table["ORG"]["missed"], table["overall"]["gold"]) == (1, 1, 3)
    assert (scores["wrong_type_entities"], scores["spurious_entities"]) == (1, 1)
    assert "wrong type" in scores["partial_match_text"]


def test_a_gold_entity_split_in_two_is_a_boundary_error_answered_by_its_own_type():
    gold_kinds, predicted_kinds = error_kinds([("PER", 0, 6)], [("LOC", 0, 2), ("PER", 2, 6)])
    assert gold_kinds == ["wrong_boundary"]
    assert predicted_kinds == ["wrong_boundary_and_type", "wrong_boundary"]
