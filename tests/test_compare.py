"""`python -m bertft_utils.compare`: paired tests between runs that predicted the same test items, checked against
independent computations (scipy's binomial test, numpy resampling), on identical runs, on planted differences and
on runs of another test set."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import REPO
from scipy import stats

from bertft_utils.errors import UsageError
from bertft_utils.evaluation.comparison import compare, group_runs, holm, load_run
from bertft_utils.evaluation.uncertainty import Bootstrap


def write_run(folder, gold: list[str], predicted: list[str], positive: str = "1", lines=None):
    """A classification run folder as run_classify.py writes it: predictions.tsv and test_results.json."""
    folder.mkdir(parents=True)
    with open(folder / "predictions.tsv", "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, delimiter="\t", lineterminator="\n")
        writer.writerow(["file", "line", "text", "gold", "predicted", "probability"])
        for i, (g, p) in enumerate(zip(gold, predicted, strict=True)):
            writer.writerow(["test.jsonl", (lines or range(2, len(gold) + 2))[i], f"text {i}", g, p, "0.9"])
    (folder / "test_results.json").write_text(json.dumps({"test_positive_label": positive}))
    return folder


def flipped(gold: list[str], wrong: set[int]) -> list[str]:
    return [("0" if g == "1" else "1") if i in wrong else g for i, g in enumerate(gold)]


def test_mcnemar_equals_the_exact_binomial_test_on_the_discordant_counts(tmp_path):
    gold = ["1", "0"] * 100
    a = write_run(tmp_path / "a", gold, flipped(gold, set(range(0, 60))))  # wrong on 0..59
    b = write_run(tmp_path / "b", gold, flipped(gold, set(range(40, 80))))  # wrong on 40..79
    result = compare({"a": [load_run(a)], "b": [load_run(b)]}, Bootstrap(200, 0))
    pair = result["metrics"]["accuracy"]["pairs"][0]
    only_a_right, only_b_right = 20, 40  # b wrong on 60..79 where a is right; a wrong on 0..39 where b is right
    assert (pair["mcnemar"]["only_first_right"], pair["mcnemar"]["only_second_right"]) == (only_a_right, only_b_right)
    assert pair["mcnemar"]["p"] == pytest.approx(stats.binomtest(20, 60, 0.5).pvalue)
    assert pair["difference"] == pytest.approx((140 - 160) / 200)


def test_the_paired_interval_equals_numpy_resampling_of_the_same_items(tmp_path):
    rng = np.random.default_rng(4)
    gold = [str(v) for v in rng.integers(0, 2, 300)]
    a = write_run(tmp_path / "a", gold, flipped(gold, set(rng.choice(300, 60, replace=False).tolist())))
    b = write_run(tmp_path / "b", gold, flipped(gold, set(rng.choice(300, 75, replace=False).tolist())))
    bootstrap = Bootstrap(400, 8)
    pair = compare({"a": [load_run(a)], "b": [load_run(b)]}, bootstrap)["metrics"]["accuracy"]["pairs"][0]
    correct_a = np.array(load_run(a).gold) == np.array(load_run(a).predicted)
    correct_b = np.array(load_run(b).gold) == np.array(load_run(b).predicted)
    draws = np.random.default_rng(bootstrap.seed).integers(0, 300, size=(bootstrap.resamples, 300))
    differences = correct_a[draws].mean(axis=1) - correct_b[draws].mean(axis=1)  # paired: the same items
    observed = correct_a.mean() - correct_b.mean()
    error = np.std(differences, ddof=1)  # one run a side: the test items' variation only, normal theory
    assert pair["standard_error"] == pytest.approx(error) and pair["difference"] == pytest.approx(observed)
    half = 1.959964 * error
    assert (pair["ci_low"], pair["ci_high"]) == pytest.approx((observed - half, observed + half))
    assert pair["p"] == pytest.approx(2 * stats.norm.sf(abs(observed) / error))
    assert not pair["seed_variance_measured"] and pair["verdict"].startswith(("run ", "no difference"))


def test_identical_runs_differ_by_nothing(tmp_path):
    gold = ["1", "0", "1", "1"] * 30
    predicted = flipped(gold, {1, 5, 9, 30})
    runs = {"a": [load_run(write_run(tmp_path / "a", gold, predicted))],
            "b": [load_run(write_run(tmp_path / "b", gold, predicted))]}
    for metric in ("accuracy", "f1", "macro_f1"):
        pair = compare(runs, Bootstrap(300, 1))["metrics"][metric]["pairs"][0]
        assert pair["difference"] == 0 and pair["p"] == 1 and pair["p_adjusted"] == 1
        assert pair["verdict"] == "no difference this test set can show (the two predicted every test item alike)"
    assert compare(runs, Bootstrap(300, 1))["metrics"]["accuracy"]["pairs"][0]["mcnemar"]["p"] == 1


def detection_rate(tmp_path, planted: int, trials: int, items: int = 300) -> float:
    """Share of trials where the paired test finds a difference between two runs of equal quality except `planted`
    more errors in the second."""
    rng = np.random.default_rng(planted)
    found = 0
    for trial in range(trials):
        gold = ["1"] * items
        base = set(rng.choice(items, 45, replace=False).tolist())  # both wrong here and there, independently
        other = set(rng.choice(items, 45 + planted, replace=False).tolist())
        a = load_run(write_run(tmp_path / f"{planted}_{trial}" / "a", gold, flipped(gold, base)))
        b = load_run(write_run(tmp_path / f"{planted}_{trial}" / "b", gold, flipped(gold, other)))
        pair = compare({"a": [a], "b": [b]}, Bootstrap(300, trial))["metrics"]["accuracy"]["pairs"][0]
        found += pair["p"] < 0.05
    return found / trials


def test_a_planted_difference_is_found_at_the_expected_rate_and_none_rarely(tmp_path):
    # 300 items, 15% vs 15% + planted errors, independent: the difference's standard error is about 0.029, so a
    # planted 9% (27 items) is about 3.1 standard errors: found nearly always; 0% is found about 5% of the time
    assert detection_rate(tmp_path, 27, 30) >= 0.8
    assert detection_rate(tmp_path, 0, 40) <= 0.15


def test_holm_matches_its_definition():
    assert holm([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])
    assert holm([0.5]) == [0.5]


def test_runs_of_another_test_set_are_refused_naming_the_first_difference(tmp_path):
    gold = ["1", "0"] * 10
    a = load_run(write_run(tmp_path / "a", gold, gold))
    other_lines = load_run(write_run(tmp_path / "b", gold, gold, lines=[2, 3, 4, 99] + list(range(6, 22))))
    with pytest.raises(UsageError, match=r"test item 4 differs: test.jsonl, line 5 in .*a, test.jsonl, line 99"):
        compare({"a": [a], "b": [other_lines]}, Bootstrap(10, 0))
    other_gold = load_run(write_run(tmp_path / "c", ["0"] + gold[1:], gold))
    with pytest.raises(UsageError, match=r"test item 1 \(test.jsonl, line 2\) has gold '1' in .* and '0' in"):
        compare({"a": [a], "c": [other_gold]}, Bootstrap(10, 0))


def test_seeds_are_grouped_by_model_and_the_command_writes_its_tables(tmp_path):
    rng = np.random.default_rng(0)
    gold = [str(v) for v in rng.integers(0, 2, 200)]
    folders = []
    for model, errors in (("bert-base", 20), ("albert-base", 60)):
        for seed in (1, 2, 3):
            wrong = set(rng.choice(200, errors + seed, replace=False).tolist())
            folders.append(str(write_run(tmp_path / "classify" / model / f"seed{seed}", gold, flipped(gold, wrong))))
    assert group_runs(folders) == {"bert-base": folders[:3], "albert-base": folders[3:]}
    process = subprocess.run([sys.executable, "-m", "bertft_utils.compare", *folders, "--output", str(tmp_path / "c"),
                              "--resamples", "300"], capture_output=True, text=True, cwd=REPO)
    assert process.returncode == 0, process.stderr[-2000:]
    result = json.loads((tmp_path / "c" / "comparison.json").read_text())
    accuracy = result["metrics"]["accuracy"]
    assert accuracy["groups"]["bert-base"]["runs"] == 3 and accuracy["groups"]["bert-base"]["std"] > 0
    assert accuracy["pairs"][0]["verdict"] == "bert-base > albert-base"
    assert "| bert-base vs albert-base |" in (tmp_path / "c" / "comparison.md").read_text()
    assert "bert-base > albert-base" in process.stdout
    refused = subprocess.run([sys.executable, "-m", "bertft_utils.compare", folders[0]], capture_output=True,
                             text=True, cwd=REPO)
    assert refused.returncode == 1 and "give at least two runs" in refused.stderr


def test_each_refusal_names_the_folder_or_line_and_what_to_do(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(UsageError, match=r"empty holds no predictions.tsv or predictions.txt: give the --output_dir "
                                         r"of a run with --do_predict on a labelled test file\.$"):
        load_run(empty)
    unlabelled = write_run(tmp_path / "unlabelled", [""] * 3, ["1", "0", "1"])
    with pytest.raises(UsageError, match=r"unlabelled/predictions.tsv has no gold labels"):
        load_run(unlabelled)
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "predictions.txt").write_text("中\tB-LOC\tB-LOC\n国\tI-LOC\n", encoding="utf-8")  # raw text: no gold
    with pytest.raises(UsageError, match=r"predictions.txt, line 2: 2 columns where the lines before had three or "
                                         r"more: expected, on every line, a token, its gold tag and the predicted tag"):
        load_run(raw)
    (raw / "predictions.txt").write_text("中\tB-LOC\n国\tI-LOC\n", encoding="utf-8")
    with pytest.raises(UsageError, match=r"raw/predictions.txt has no gold tags: a comparison needs predictions of a "
                                         r"labelled test file\.$"):
        load_run(raw)
    regression = tmp_path / "regression"
    regression.mkdir()
    (regression / "predictions.tsv").write_text("file\tline\ttext\tgold\tpredicted\nt.tsv\t2\ta\t1.5\t1.25\n")
    with pytest.raises(UsageError, match=r"regression/predictions.tsv holds a regression's numbers"):
        load_run(regression)
    multilabel = tmp_path / "multilabel"
    multilabel.mkdir()
    (multilabel / "predictions.tsv").write_text("file\tline\ttext\tgold\tpredicted\tpredicted_probabilities\t"
                                                "probabilities\nt.jsonl\t1\ta\t[\"x\"]\t[\"x\"]\t{}\t{}\n")
    with pytest.raises(UsageError, match=r"multilabel/predictions.tsv holds a multi-label classifier's label sets"):
        load_run(multilabel)
    with pytest.raises(UsageError, match=r"--group 'bert': write NAME=DIR\[,DIR\.\.\.\]\."):
        group_runs([], ["bert"])


def test_ner_runs_are_compared_on_their_sentences(tmp_path):
    sentences = [(["中", "国", "人"], ["B-LOC", "I-LOC", "O"]), (["北", "京"], ["B-LOC", "I-LOC"])] * 20
    for name, hit in (("a", True), ("b", False)):
        folder = tmp_path / name
        folder.mkdir()
        lines = []
        for tokens, tags in sentences:
            predicted = tags if hit else ["O"] * len(tags)
            lines += [f"{t}\t{g}\t{p}" for t, g, p in zip(tokens, tags, predicted, strict=True)] + [""]
        (folder / "predictions.txt").write_text("\n".join(lines), encoding="utf-8")
    result = compare({"a": [load_run(tmp_path / "a")], "b": [load_run(tmp_path / "b")]}, Bootstrap(100, 0))
    assert result["kind"] == "ner" and result["items"] == 40
    pair = result["metrics"]["f1"]["pairs"][0]
    assert pair["difference"] == 1.0 and pair["verdict"].startswith("run a > run b on this test set")


def test_ner_runs_on_json_token_files_are_read_from_their_json_records(tmp_path):
    """run_ner.py writes JSON records to predictions.txt for JSON-lines/csv token input; compare reads them."""
    folder = tmp_path / "json_run"
    folder.mkdir()
    records = [{"line": 1, "tokens": ["北", "京"], "predicted_tags": ["B-LOC", "I-LOC"], "tags": ["B-LOC", "I-LOC"]},
               {"line": 2, "tokens": ["张"], "predicted_tags": ["O"], "tags": ["B-PER"]}]
    (folder / "predictions.txt").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records),
                                            encoding="utf-8")
    run = load_run(folder)
    assert (run.kind, run.items, run.gold, run.predicted) == (
        "ner", [("北", "京"), ("张",)], [["B-LOC", "I-LOC"], ["B-PER"]], [["B-LOC", "I-LOC"], ["O"]])


def test_binary_f1_of_runs_with_different_positive_classes_is_refused_naming_both(tmp_path):
    gold = ["pos", "neg"] * 50
    a = load_run(write_run(tmp_path / "a", gold, gold, positive="pos"))
    b = load_run(write_run(tmp_path / "b", gold, gold, positive="neg"))
    with pytest.raises(UsageError, match=r"positive class 'pos', .*b for 'neg': their F1 are about different classes"):
        compare({"a": [a], "b": [b]}, Bootstrap(50, 0))


def write_ner_run(folder, sentences, predicted, strict_scheme: str | None = None):
    folder.mkdir(parents=True)
    lines = []
    for (tokens, tags), guess in zip(sentences, predicted, strict=True):
        lines += [f"{t}\t{g}\t{p}" for t, g, p in zip(tokens, tags, guess, strict=True)] + [""]
    (folder / "predictions.txt").write_text("\n".join(lines), encoding="utf-8")
    (folder / "test_results.json").write_text(json.dumps({"test_strict_scheme": strict_scheme} if strict_scheme
                                                         else {}))
    return folder


def test_ner_runs_are_scored_as_they_scored_themselves(tmp_path):
    """A run scored with --strict_scoring: entities that begin with I- do not count (its test_f1 was 0); compare
    once scored it in seqeval's default mode, where they count, and the run won."""
    sentences = [(["北", "京"], ["B-LOC", "I-LOC"])] * 30
    loose = [["I-LOC", "I-LOC"]] * 30  # right in the default mode, ill-formed in strict IOB2
    strict = load_run(write_ner_run(tmp_path / "strict", sentences, loose, "IOB2"))
    assert strict.metrics["f1"][1](strict.metrics["f1"][0].sum(axis=0, keepdims=True))[0] == 0.0
    other = load_run(write_ner_run(tmp_path / "other", sentences, [["B-LOC", "O"]] * 30, "IOB2"))
    pair = compare({"strict": [strict], "other": [other]}, Bootstrap(100, 0))["metrics"]["f1"]["pairs"][0]
    assert pair["difference"] == 0.0  # both score 0 in strict mode
    default = load_run(write_ner_run(tmp_path / "default", sentences, loose))
    with pytest.raises(UsageError, match=r"strict IOB2, .*default in seqeval's default mode: compare runs scored"):
        compare({"strict": [strict], "default": [default]}, Bootstrap(10, 0))


def test_with_seeds_the_verdict_is_about_models_and_counts_their_spread(tmp_path):
    """Three seeds a model: the standard error holds the seeds' spread beyond what the items explain, and the
    degrees of freedom are the seeds' few; with one run a side the verdict speaks of the runs only."""
    rng = np.random.default_rng(1)
    gold = ["1"] * 400
    groups = {}
    for model, errors in (("a", (20, 60, 100)), ("b", (40, 80, 120))):  # seeds 10 points apart, models 5
        groups[model] = [load_run(write_run(tmp_path / model / f"seed{i}", gold,
                                            flipped(gold, set(rng.choice(400, e, replace=False).tolist()))))
                         for i, e in enumerate(errors)]
    pair = compare(groups, Bootstrap(300, 0))["metrics"]["accuracy"]["pairs"][0]
    assert pair["seed_variance_measured"] and pair["verdict"].startswith("no difference")
    assert pair["standard_error"] > 0.1 / np.sqrt(3) * 0.9 * np.sqrt(2) and pair["degrees_of_freedom"] < 10
    one_each = compare({"a": groups["a"][:1], "b": groups["b"][:1]}, Bootstrap(300, 0))
    single = one_each["metrics"]["accuracy"]["pairs"][0]
    assert not single["seed_variance_measured"] and single["verdict"].startswith("run a > run b")


def write_settings(folder, seed: int, **settings) -> None:
    (folder / "run_settings.json").write_text(json.dumps({"script": "run_classify.py", "data_sha256": {},
                                                          "settings": {"learning_rate": 5e-5, **settings,
                                                                       "seed": seed}}))


def test_seeds_are_grouped_only_when_their_recorded_settings_differ_by_the_seed(tmp_path):
    """Two experiments' `bert/seed42` once became two seeds of one model."""
    gold = ["1", "0"] * 50
    folders = {}
    for experiment, rate in (("exp_a", 5e-5), ("exp_b", 1e-3)):
        for seed in (42, 43):
            folder = write_run(tmp_path / experiment / "bert" / f"seed{seed}", gold, flipped(gold, {seed % 7}))
            write_settings(folder, seed, learning_rate=rate)
            folders[experiment, seed] = str(folder)
    groups = group_runs(list(folders.values()))
    assert groups == {"exp_a/bert": [folders["exp_a", 42], folders["exp_a", 43]],
                      "exp_b/bert": [folders["exp_b", 42], folders["exp_b", 43]]}
    same = group_runs([folders["exp_a", 42], folders["exp_a", 43]])
    assert same == {"bert": [folders["exp_a", 42], folders["exp_a", 43]]}
    write_settings(Path(folders["exp_a", 43]), 43, learning_rate=5e-5, split_file="split_ids.json")  # the first
    assert group_runs([folders["exp_a", 42], folders["exp_a", 43]]) == same  # run made the split, the next read it
    process = subprocess.run([sys.executable, "-m", "bertft_utils.compare", *folders.values(), "--resamples", "50"],
                             capture_output=True, text=True, cwd=REPO)
    assert process.returncode == 0 and "differ by the seed alone: exp_a/bert: 2 run(s); exp_b/bert: 2" in \
        process.stdout
    mixed = subprocess.run([sys.executable, "-m", "bertft_utils.compare", "--group",
                            f"bert={folders['exp_a', 42]},{folders['exp_b', 43]}", "--group",
                            f"other={folders['exp_a', 43]}", folders["exp_a", 42]], capture_output=True, text=True,
                           cwd=REPO)
    assert mixed.returncode == 1 and "group bert: " in mixed.stderr and "learning_rate: 5e-05 vs 0.001" in \
        mixed.stderr


def test_an_interval_stays_within_the_metrics_range_when_seeds_spread_over_it():
    """A smoke run's seeds scored 0.0, 0.0 and 0.66: the t interval on two degrees of freedom once read -3.36 to
    +3.36 (a difference of F1 scores lies in [-1, 1])."""
    from bertft_utils.evaluation.comparison import pair_test, verdict

    resampled = np.random.default_rng(0).normal(0, 0.01, size=(3, 200))
    pair = pair_test(np.array([0.0, 0.0, 0.66]), np.array([0.0, 0.01, 0.6]), resampled, resampled, 3)
    assert -1 <= pair["ci_low"] <= pair["difference"] <= pair["ci_high"] <= 1
    assert verdict({**pair, "first": "a", "second": "b"}) == \
        "no difference these runs can show (their seeds' scores vary too much)"
