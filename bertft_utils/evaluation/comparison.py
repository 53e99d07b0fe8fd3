"""Is the difference real? Paired comparison of runs that predicted the same test items
(`python -m bertft_utils.compare RUN_DIR RUN_DIR [...]`).

Each run folder is read from its own prediction file (classification/QA: predictions.tsv, one row per test record
with its file and line; NER: predictions.txt, sentences with gold and predicted tags) and test_results.json (the
positive class, the NER scoring mode), and every run is scored as it scored itself. Runs are grouped by model
(`<task>/<model>/seed<k>` folders whose recorded settings differ by seed alone, or --group). For every pair of
groups and every metric: the difference of the group means, its standard error, a t statistic, its p-value, 95%
interval and the minimum detectable difference, one family for all three (Bonferroni over the pairs: p multiplied
by the number of pairs; interval and minimum detectable difference at the level 0.05 / pairs), and McNemar's exact
test for accuracy when each group is one run.

The standard error holds what varies when the experiment is redone:
- the test items: a paired bootstrap resamples them (the same resample for every run, Koehn 2004), every run scored
  on each resample by the statistic its point estimate defines;
- the seeds, when both groups have two or more runs: each group's seed variance is the variance of its runs'
  scores less the part the test items already explain (the bootstrap variance of each run's deviation from its group
  mean), at least 0; the t statistic's degrees of freedom follow Welch-Satterthwaite from the runs' own variances, so
  that three seeds weigh as the three numbers they are. The verdict is then about the models.
- With one run in a group, seed variance is not measured: the verdict is about these trained runs on this test
  set's population, and says so (two seeds of one recipe differ too: results/significance.md).
bench/calibration.py measures how often each verdict is wrong (results/calibration.md).
"""

from __future__ import annotations

import itertools
import json
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from scipy import stats

from bertft_utils.data.tags import to_scoring_tag
from bertft_utils.errors import UsageError
from bertft_utils.evaluation.prediction_files import read_prediction_rows, read_tagged_predictions
from bertft_utils.evaluation.run_settings import differences, read_run_settings, settings_but_seed
from bertft_utils.evaluation.uncertainty import (
    Bootstrap,
    classification_statistics,
    entity_counts,
    entity_statistics,
    multiplicities,
)

ALPHA = 0.05
POWER = 0.8
_SEED_FOLDER = re.compile(r"^seed\d+$")
COMPARED = ("accuracy", "f1", "macro_f1")  # the metrics compared, where a run has them


@dataclass
class RunPredictions:
    """One run's predictions of its test items, with what identifies each item and its gold."""

    folder: Path
    kind: str  # "classification" or "ner"
    items: list  # an item's identity: (file, line) of a record; a sentence's tokens
    gold: list
    predicted: list
    positive: str | None = None  # the class binary precision/recall/F1 were reported for
    scoring: str | None = None  # NER: the seqeval strict scheme the run scored with (None: seqeval's default)
    metrics: dict[str, tuple[np.ndarray, Callable[[np.ndarray], np.ndarray]]] = field(default_factory=dict)


def load_run(folder: str | Path) -> RunPredictions:
    """The test predictions of a run folder: predictions.tsv (classification, QA) or predictions.txt (NER)."""
    folder = Path(folder)
    results_path = folder / "test_results.json"
    results = json.loads(results_path.read_text(encoding="utf-8")) if results_path.is_file() else {}
    if (folder / "predictions.tsv").is_file():
        rows = read_prediction_rows(folder / "predictions.tsv")
        if rows and "predicted_probabilities" in rows[0]:
            raise UsageError(f"{folder / 'predictions.tsv'} holds a multi-label classifier's label sets: compare "
                             "tells single-label classifiers and taggers apart (test_results.json gives each "
                             "multi-label score's 95% interval).")
        if rows and "probability" not in rows[0]:
            raise UsageError(f"{folder / 'predictions.tsv'} holds a regression's numbers: compare tells classifiers "
                             "and taggers apart (their test_results.json give each score's 95% interval).")
        if rows and not rows[0].get("gold"):
            raise UsageError(f"{folder / 'predictions.tsv'} has no gold labels: a comparison needs a labelled test "
                             "file.")
        run = RunPredictions(folder, "classification", [(r["file"], int(r["line"])) for r in rows],
                             [r["gold"] for r in rows], [r["predicted"] for r in rows],
                             results.get("test_positive_label"))
    elif (folder / "predictions.txt").is_file():
        tagged = read_tagged_predictions(folder / "predictions.txt", results.get("test_predictions_layout"))
        if tagged.gold is None:
            raise UsageError(f"{folder / 'predictions.txt'} has no gold tags: a comparison needs predictions of a "
                             "labelled test file.")
        scoring = [[[to_scoring_tag(tag) for tag in tags] for tags in sentences]  # BMES M- as I-, as scored
                   for sentences in (tagged.gold, tagged.predicted)]
        run = RunPredictions(folder, "ner", [tuple(t) for t in tagged.tokens], *scoring,
                             scoring=results.get("test_strict_scheme"))
    else:
        raise UsageError(f"{folder} holds no predictions.tsv or predictions.txt: give the --output_dir of a run with "
                         "--do_predict on a labelled test file.")
    run.metrics = _metric_counts(run)
    return run


def _metric_counts(run: RunPredictions) -> dict[str, tuple[np.ndarray, Callable[[np.ndarray], np.ndarray]]]:
    """Per metric: per-item counts (items x columns) and the function of their (resampled) sums that gives it, as
    the run's own scores define it (evaluation/uncertainty.py: one definition for intervals and comparisons)."""
    if run.kind == "ner":
        types, counts = entity_counts(run.gold, run.predicted, run.scoring)
        statistics = entity_statistics(types)
    else:
        labels = sorted(set(run.gold) | set(run.predicted))
        index = {label: i for i, label in enumerate(labels)}
        predicted = np.array([index[label] for label in run.predicted], dtype=int)
        binary = run.positive is not None and len(labels) <= 2
        counts, statistics = classification_statistics(
            np.array([index[label] for label in run.gold], dtype=int), np.eye(max(len(labels), 1))[predicted],
            index.get(run.positive, -2) if binary else None)
        if not binary:
            statistics.pop("f1")  # a macro average, already compared as macro_f1
    return {name: (counts, statistics[name]) for name in COMPARED if name in statistics}


def check_same_scoring(runs: list[RunPredictions]) -> None:
    """Refuse runs scored in different ways: binary F1 of another positive class, NER in another seqeval mode."""
    first = runs[0]
    for run in runs[1:]:
        if "f1" in run.metrics and "f1" in first.metrics and run.positive != first.positive:
            raise UsageError(f"{first.folder} reports binary F1 for the positive class {first.positive!r}, "
                             f"{run.folder} for {run.positive!r}: their F1 are about different classes. Predict "
                             "again with the same --positive_label.")
        if run.kind == "ner" and run.scoring != first.scoring:
            shown = {None: "seqeval's default mode"}
            raise UsageError(f"{first.folder} was scored in {shown.get(first.scoring, f'strict {first.scoring}')}, "
                             f"{run.folder} in {shown.get(run.scoring, f'strict {run.scoring}')}: compare runs "
                             "scored alike (--strict_scoring on both or neither).")


def check_same_items(runs: list[RunPredictions]) -> None:
    """Refuse runs that did not predict the same items with the same gold, naming the first difference."""
    first = runs[0]
    for run in runs[1:]:
        if run.kind != first.kind:
            raise UsageError(f"{run.folder} is a {run.kind} run, {first.folder} a {first.kind} run: compare runs of "
                             "one task.")
        if len(run.items) != len(first.items):
            raise UsageError(f"{run.folder} predicted {len(run.items)} test items, {first.folder} "
                             f"{len(first.items)}: the runs did not predict the same test set.")
        for index, (a, b, gold_a, gold_b) in enumerate(zip(first.items, run.items, first.gold, run.gold,
                                                           strict=True)):
            if a != b:
                raise UsageError(f"test item {index + 1} differs: {_shown(a)} in {first.folder}, {_shown(b)} in "
                                 f"{run.folder}; the runs did not predict the same test set.")
            if gold_a != gold_b:
                raise UsageError(f"test item {index + 1} ({_shown(a)}) has gold {gold_a!r} in {first.folder} and "
                                 f"{gold_b!r} in {run.folder}: the runs were scored against different gold.")


def _shown(item) -> str:
    if isinstance(item, tuple) and len(item) == 2 and isinstance(item[1], int):
        return f"{item[0]}, line {item[1]}"
    return "sentence '" + "".join(item)[:30] + "'"


def mcnemar(correct_a: np.ndarray, correct_b: np.ndarray) -> dict:
    """McNemar's exact test: a binomial test on the items exactly one of the two runs got right."""
    only_a, only_b = int(np.sum(correct_a & ~correct_b)), int(np.sum(~correct_a & correct_b))
    p = stats.binomtest(min(only_a, only_b), only_a + only_b, 0.5).pvalue if only_a + only_b else 1.0
    return {"only_first_right": only_a, "only_second_right": only_b, "p": float(min(p, 1.0))}


def holm(pvalues: list[float]) -> list[float]:
    """Holm's step-down correction (scipy has only Benjamini-Hochberg; statsmodels is not a dependency)."""
    order = np.argsort(pvalues)
    adjusted = np.empty(len(pvalues))
    running = 0.0
    for rank, index in enumerate(order):
        running = max(running, (len(pvalues) - rank) * pvalues[index])
        adjusted[index] = min(running, 1.0)
    return adjusted.tolist()


def resampled_metrics(groups: dict[str, list[RunPredictions]], metrics: list[str],
                      bootstrap: Bootstrap) -> dict[str, dict]:
    """Per metric, per group: the metric of each run (seeds) on every item resample, the same resamples for every
    run and metric (runs x resamples)."""
    items = len(next(iter(groups.values()))[0].items)
    values = {metric: {name: [[] for _ in runs] for name, runs in groups.items()} for metric in metrics}
    for weights in multiplicities(items, bootstrap):
        for name, runs in groups.items():
            for i, run in enumerate(runs):
                sums: dict[int, np.ndarray] = {}  # the metrics of a run share their counts: summed once
                for metric in metrics:
                    counts, function = run.metrics[metric]
                    if id(counts) not in sums:
                        sums[id(counts)] = weights @ counts
                    values[metric][name][i].append(function(sums[id(counts)]))
    return {metric: {name: np.array([np.concatenate(v) for v in per_run]) for name, per_run in by_group.items()}
            for metric, by_group in values.items()}


def seed_variance(observed: np.ndarray, resampled: np.ndarray) -> float:
    """The variance between a group's runs that the test items do not explain: the variance of the runs' scores
    less the mean bootstrap variance of each run's deviation from the group mean (k/(k-1) of it, unbiased), at
    least 0. `observed`: the runs' scores; `resampled`: runs x resamples."""
    runs = len(observed)
    deviations = resampled - np.nanmean(resampled, axis=0, keepdims=True)
    item_part = np.nansum(np.nanvar(deviations, axis=1, ddof=1)) / (runs - 1)
    return max(float(np.var(observed, ddof=1)) - item_part, 0.0)


def pair_test(observed_a: np.ndarray, observed_b: np.ndarray, resampled_a: np.ndarray, resampled_b: np.ndarray,
              pairs: int) -> dict:
    """The difference of two groups' mean scores, its standard error and degrees of freedom, p (two-sided t) and
    its Bonferroni adjustment over `pairs`, the interval and the minimum detectable difference at level
    ALPHA / pairs (module docstring)."""
    difference = float(np.mean(observed_a) - np.mean(observed_b))
    resampled_difference = resampled_a.mean(axis=0) - resampled_b.mean(axis=0)
    item_variance = float(np.nanvar(resampled_difference, ddof=1))
    seeds_measured = len(observed_a) >= 2 and len(observed_b) >= 2
    variance, freedom = item_variance, np.inf
    if seeds_measured:
        variance += seed_variance(observed_a, resampled_a) / len(observed_a) + \
            seed_variance(observed_b, resampled_b) / len(observed_b)
        spread = [(np.var(o, ddof=1) / len(o)) ** 2 / (len(o) - 1) for o in (observed_a, observed_b)]
        freedom = variance**2 / sum(spread) if sum(spread) > 0 else np.inf
    error = float(np.sqrt(variance))
    level = ALPHA / pairs
    critical = float(stats.t.ppf(1 - level / 2, freedom))
    if error > 0:
        p = float(2 * stats.t.sf(abs(difference) / error, freedom))
    else:
        p = 1.0 if difference == 0 else 0.0
    return {"difference": difference, "standard_error": error, "degrees_of_freedom": float(freedom),
            "p": p, "p_adjusted": min(1.0, p * pairs), "ci_level": 1 - level,
            # every compared metric lies in [0, 1]: so does the difference's interval once cut to [-1, 1]
            "ci_low": max(difference - critical * error, -1.0), "ci_high": min(difference + critical * error, 1.0),
            "minimum_detectable_difference": (critical + float(stats.t.ppf(POWER, freedom))) * error,
            "seed_variance_measured": seeds_measured}


def compare(groups: dict[str, list[RunPredictions]], bootstrap: Bootstrap) -> dict:
    """Every metric the runs share: per group mean/std/min/max over its runs, and per pair of groups pair_test's
    numbers, McNemar's test (accuracy, one run per group) and a verdict."""
    runs = [run for members in groups.values() for run in members]
    check_same_items(runs)
    check_same_scoring(runs)
    shared = [m for m in runs[0].metrics if all(m in run.metrics for run in runs)]
    pairs_count = len(groups) * (len(groups) - 1) // 2
    result: dict = {"items": len(runs[0].items), "kind": runs[0].kind, "resamples": bootstrap.resamples,
                    "seed": bootstrap.seed, "family": f"Bonferroni over {pairs_count} pair(s)",
                    "groups": {name: [str(r.folder) for r in members] for name, members in groups.items()},
                    "metrics": {}}
    every_resampled = resampled_metrics(groups, shared, bootstrap)
    for metric in shared:
        observed = {name: np.array([float(run.metrics[metric][1](run.metrics[metric][0].sum(axis=0,
                                                                                            keepdims=True))[0])
                                    for run in members]) for name, members in groups.items()}
        resampled = every_resampled[metric]
        summary = {name: {"mean": float(np.mean(v)), "std": float(np.std(v, ddof=1)) if len(v) > 1 else 0.0,
                          "min": float(np.min(v)), "max": float(np.max(v)), "runs": len(v)}
                   for name, v in observed.items()}
        pairs = []
        for first, second in itertools.combinations(groups, 2):
            pair = {"first": first, "second": second,
                    **pair_test(observed[first], observed[second], resampled[first], resampled[second],
                                pairs_count)}
            if metric == "accuracy" and len(groups[first]) == len(groups[second]) == 1:
                a, b = groups[first][0], groups[second][0]
                pair["mcnemar"] = mcnemar(np.array(a.gold) == np.array(a.predicted),
                                          np.array(b.gold) == np.array(b.predicted))
            pair["verdict"] = verdict(pair)
            pairs.append(pair)
        result["metrics"][metric] = {"groups": summary, "pairs": pairs}
    return result


def verdict(pair: dict) -> str:
    """The pair's conclusion in plain words: about the models when seed variance was measured, else about these
    runs."""
    about_runs = not pair.get("seed_variance_measured", True)
    if pair["p_adjusted"] < ALPHA:
        better, worse = (pair["first"], pair["second"]) if pair["difference"] > 0 else (pair["second"], pair["first"])
        if about_runs:
            return (f"run {better} > run {worse} on this test set (one run on a side: a statement about these "
                    "trained runs; seed variance not measured)")
        return f"{better} > {worse}"
    if pair["minimum_detectable_difference"] == 0:  # no item where the two differ: no power to estimate
        return "no difference this test set can show (the two predicted every test item alike)"
    if pair["minimum_detectable_difference"] >= 1:  # the seeds' scores spread over the metric's whole range
        return "no difference these runs can show (their seeds' scores vary too much)"
    return (f"no difference this test set can show (minimum detectable difference "
            f"{100 * pair['minimum_detectable_difference']:.1f} points)")


def group_runs(folders: list[str], given: list[str] | None = None) -> dict[str, list[str]]:
    """Groups of run folders: `NAME=DIR,DIR` given, else the seeds of one model: `<model>/seed<k>` folders of one
    model name whose recorded settings (run_settings.json) differ by the seed alone; runs of the same name made with
    other settings (another experiment's `bert/seed42`) form groups of their own, named by more of their path; any
    other folder is a group of one."""
    if given:
        groups = {}
        for spec in given:
            name, _, members = spec.partition("=")
            if not name or not members:
                raise UsageError(f"--group {spec!r}: write NAME=DIR[,DIR...].")
            groups[name] = members.split(",")
        return groups
    buckets: dict[tuple[str, str], list[str]] = {}
    for folder in folders:
        path = Path(folder).resolve()
        name = path.parent.name if _SEED_FOLDER.match(path.name) else path.name
        recorded = read_run_settings(path)
        settings = json.dumps(settings_but_seed(recorded), sort_keys=True) if recorded else "not recorded"
        buckets.setdefault((name, settings), []).append(folder)
    names = [name for name, _ in buckets]
    groups: dict[str, list[str]] = {}
    for (name, _), members in buckets.items():
        if names.count(name) > 1:  # one model name, other settings: named by the folder above the model's too
            path = Path(members[0]).resolve()
            model = path.parent if _SEED_FOLDER.match(path.name) else path
            name = f"{model.parent.name}/{model.name}"
            while name in groups:
                name += "'"
        groups[name] = members
    for members in groups.values():
        seeds = [(read_run_settings(Path(m).resolve()) or {}).get("settings", {}).get("seed") for m in members]
        repeated = {seed for seed in seeds if seed is not None and seeds.count(seed) > 1}
        if repeated:
            raise UsageError(f"{', '.join(members)} were made with the same settings and seed {min(repeated)}: one "
                             "run twice, not seeds of a model. Compare one of them, or name groups with --group.")
    return groups


def grouping_note(groups: dict[str, list[str]], given: bool) -> str:
    """How the runs were grouped, for the report."""
    if given:
        return "Groups as given (--group)."
    recorded = [m for members in groups.values() for m in members if read_run_settings(Path(m).resolve())]
    total = sum(len(members) for members in groups.values())
    how = ("runs of one model name whose recorded settings (run_settings.json) differ by the seed alone"
           if len(recorded) == total else
           f"folder name (`<model>/seed<k>`); {total - len(recorded)} of the {total} runs recorded no settings, so "
           "that seeds of one name are taken to share their settings")
    return f"Grouped by {how}: " + "; ".join(f"{name}: {len(members)} run(s)" for name, members in groups.items()) \
        + "."


def check_groups_share_settings(groups: dict[str, list[str]]) -> None:
    """--group members must be seeds of one model too: refuse a group whose recorded settings differ beyond the
    seed, naming the first differences."""
    for name, members in groups.items():
        records = [(m, read_run_settings(Path(m).resolve())) for m in members]
        records = [(m, r) for m, r in records if r is not None]
        for member, record in records[1:]:
            changed = differences(settings_but_seed(records[0][1]), settings_but_seed(record))
            if changed:
                raise UsageError(f"group {name}: {records[0][0]} and {member} were made with other settings "
                                 f"({'; '.join(changed[:5])}): not seeds of one model. Put them in groups of their "
                                 "own.")


def markdown(result: dict) -> str:
    """comparison.md: per metric, the groups and the pairwise verdicts."""
    unit = "sentences" if result["kind"] == "ner" else "examples"
    family = result.get("family", "Holm over the pairs")
    lines = ["# Comparison of runs", "",
             f"{result['items']:,} test {unit}, the same in every run; paired bootstrap over them, "
             f"{result['resamples']:,} resamples, seed {result['seed']}, and the seeds' own variance where a group "
             f"has two or more runs. p, intervals and minimum detectable differences: {family}.", "",
             *([result["grouping"], ""] if result.get("grouping") else [])]
    for metric, data in result["metrics"].items():
        lines += [f"## {metric}", "", "| group | runs | mean | std | min | max |", "|---|---:|---:|---:|---:|---:|"]
        for name, g in data["groups"].items():
            lines.append(f"| {name} | {g['runs']} | {g['mean']:.4f} | {g['std']:.4f} | {g['min']:.4f} | "
                         f"{g['max']:.4f} |")
        lines += ["", "| pair | difference | CI | p (adjusted) | McNemar p | seed variance | verdict |",
                  "|---|---:|---|---:|---:|---|---|"]
        for pair in data["pairs"]:
            exact = f"{pair['mcnemar']['p']:.3g}" if "mcnemar" in pair else "–"
            level = f"{100 * pair['ci_level']:.4g}%" if "ci_level" in pair else "95%"
            seeds = "measured" if pair.get("seed_variance_measured", True) else "not measured (one run)"
            lines.append(f"| {pair['first']} vs {pair['second']} | {pair['difference']:+.4f} | {level}: "
                         f"{pair['ci_low']:+.4f} to {pair['ci_high']:+.4f} | "
                         f"{pair.get('p_adjusted', pair.get('p_holm')):.3g} | {exact} | {seeds} | {pair['verdict']} |")
        lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m bertft_utils.compare", description=__doc__.split("\n\n")[0])
    parser.add_argument("runs", nargs="+", help="Output folders of runs that predicted the same test file.")
    parser.add_argument("--group", action="append", help="NAME=DIR,DIR: runs (seeds) of one model; repeatable. "
                        "Default: <model>/seed<k> folders by model, else one group per run.")
    parser.add_argument("--output", help="Folder for comparison.md and comparison.json (default: print only).")
    parser.add_argument("--resamples", type=int, default=1000, help="Bootstrap resamples (default 1000).")
    parser.add_argument("--seed", type=int, default=42, help="Bootstrap seed (default 42).")
    args = parser.parse_args(argv)
    folders = group_runs(args.runs, args.group)
    check_groups_share_settings(folders)
    if sum(len(v) for v in folders.values()) < 2 or len(folders) < 2:
        raise UsageError("give at least two runs, in at least two groups, to compare.")
    groups = {name: [load_run(folder) for folder in members] for name, members in folders.items()}
    result = compare(groups, Bootstrap(args.resamples, args.seed))
    result["grouping"] = grouping_note(folders, bool(args.group))
    text = markdown(result)
    print(text)
    if args.output:
        os.makedirs(args.output, exist_ok=True)
        Path(args.output, "comparison.md").write_text(text, encoding="utf-8")
        Path(args.output, "comparison.json").write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    return 0
