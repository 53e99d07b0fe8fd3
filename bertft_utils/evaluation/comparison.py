"""Is the difference real? Paired comparison of runs that predicted the same test items
(`python -m bertft_utils.compare RUN_DIR RUN_DIR [...]`).

Each run folder is read from its own prediction file (classification/QA: predictions.tsv, one row per test record
with its file and line; NER: predictions.txt, sentences with gold and predicted tags) and test_results.json (the
positive class). Runs are grouped by model (`<task>/<model>/seed<k>` folders, or --group); for every pair of groups
and every metric: the difference of the group means, its 95% interval and p-value by a paired bootstrap that
resamples the test items (the same resample for both groups, Koehn 2004) and, within each group, the seeds (so a
difference must hold over seeds as well as items); Holm's correction over all pairs of a metric; McNemar's exact test
for accuracy when each group is one run; and the minimum detectable difference of the paired test at this test set's
size: (z_0.975 + z_0.8) times the bootstrap standard error of the difference (80% power at p < 0.05, normal
approximation).

Bootstrap p-value: two-sided, of the resampled differences centred on the observed one (Berg-Kirkpatrick et al.
2012): p = (1 + #{|d* - d| >= |d|}) / (1 + resamples); identical runs give d* = d = 0 and p = 1.
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
from bertft_utils.evaluation.uncertainty import (
    Bootstrap,
    entity_counts,
    interval,
    label_counts,
    multiplicities,
    per_label_rates,
    pooled_rates,
)

ALPHA = 0.05
POWER = 0.8
_SEED_FOLDER = re.compile(r"^seed\d+$")


@dataclass
class RunPredictions:
    """One run's predictions of its test items, with what identifies each item and its gold."""

    folder: Path
    kind: str  # "classification" or "ner"
    items: list  # an item's identity: (file, line) of a record; a sentence's tokens
    gold: list
    predicted: list
    positive: str | None = None  # the class binary precision/recall/F1 were reported for
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
        tagged = read_tagged_predictions(folder / "predictions.txt")
        if tagged.gold is None:
            raise UsageError(f"{folder / 'predictions.txt'} has no gold tags: a comparison needs predictions of a "
                             "labelled test file.")
        scoring = [[[to_scoring_tag(tag) for tag in tags] for tags in sentences]  # BMES M- as I-, as scored
                   for sentences in (tagged.gold, tagged.predicted)]
        run = RunPredictions(folder, "ner", [tuple(t) for t in tagged.tokens], *scoring)
    else:
        raise UsageError(f"{folder} holds no predictions.tsv or predictions.txt: give the --output_dir of a run with "
                         "--do_predict on a labelled test file.")
    run.metrics = _metric_counts(run)
    return run


def _metric_counts(run: RunPredictions) -> dict[str, tuple[np.ndarray, Callable[[np.ndarray], np.ndarray]]]:
    """Per metric: per-item counts (items x columns) and the function of their (resampled) sums that gives it."""
    if run.kind == "ner":
        types, counts = entity_counts(run.gold, run.predicted)
        return {"f1": (counts, lambda sums: pooled_rates(sums, len(types))[2]),
                "macro_f1": (counts, lambda sums: per_label_rates(sums, len(types))[2].mean(axis=1))}
    labels, counts = label_counts(run.gold, run.predicted)
    correct = (np.array(run.gold) == np.array(run.predicted))[:, None].astype(float)
    metrics = {"accuracy": (correct, lambda sums: sums[:, 0] / len(correct)),
               "macro_f1": (counts, lambda sums: per_label_rates(sums, len(labels))[2].mean(axis=1))}
    if run.positive is not None and len(labels) <= 2:
        column = labels.index(run.positive) if run.positive in labels else None
        metrics["f1"] = (counts, lambda sums: per_label_rates(sums, len(labels))[2][:, column] if column is not None
                         else np.zeros(len(sums)))
    return metrics


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


def resampled_metric(groups: dict[str, list[RunPredictions]], metric: str, bootstrap: Bootstrap) -> dict:
    """Per group: the metric of each run (seeds) on every item resample, the same resamples for every run."""
    items = len(next(iter(groups.values()))[0].items)
    values = {name: [[] for _ in runs] for name, runs in groups.items()}
    for weights in multiplicities(items, bootstrap):
        for name, runs in groups.items():
            for i, run in enumerate(runs):
                counts, function = run.metrics[metric]
                values[name][i].append(function(weights @ counts))
    return {name: np.array([np.concatenate(v) for v in per_run]) for name, per_run in values.items()}


def compare(groups: dict[str, list[RunPredictions]], bootstrap: Bootstrap) -> dict:
    """Every metric the runs share: per group mean/std/min/max over its runs, and per pair of groups the difference,
    its interval, p (raw and Holm-corrected), McNemar's test (accuracy, one run per group), the minimum detectable
    difference and a verdict."""
    runs = [run for members in groups.values() for run in members]
    check_same_items(runs)
    shared = [m for m in runs[0].metrics if all(m in run.metrics for run in runs)]
    rng = np.random.default_rng(bootstrap.seed + 1)  # the seeds' resampling, apart from the items'
    result: dict = {"items": len(runs[0].items), "kind": runs[0].kind, "resamples": bootstrap.resamples,
                    "seed": bootstrap.seed, "groups": {name: [str(r.folder) for r in members]
                                                       for name, members in groups.items()}, "metrics": {}}
    z = stats.norm.ppf(1 - ALPHA / 2) + stats.norm.ppf(POWER)
    for metric in shared:
        observed = {name: [float(run.metrics[metric][1](run.metrics[metric][0].sum(axis=0, keepdims=True))[0])
                           for run in members] for name, members in groups.items()}
        resampled = resampled_metric(groups, metric, bootstrap)
        seed_draws = {name: rng.integers(0, len(members), size=(bootstrap.resamples, len(members)))
                      for name, members in groups.items()}
        means = {name: np.take_along_axis(resampled[name].T, seed_draws[name], axis=1).mean(axis=1)
                 for name in groups}
        summary = {name: {"mean": float(np.mean(v)), "std": float(np.std(v, ddof=1)) if len(v) > 1 else 0.0,
                          "min": float(np.min(v)), "max": float(np.max(v)), "runs": len(v)}
                   for name, v in observed.items()}
        pairs = []
        for first, second in itertools.combinations(groups, 2):
            difference = summary[first]["mean"] - summary[second]["mean"]
            resampled_difference = means[first] - means[second]
            low, high = interval(resampled_difference)
            p = (1 + np.sum(np.abs(resampled_difference - difference) >= abs(difference))) / (1 + bootstrap.resamples)
            pair = {"first": first, "second": second, "difference": difference, "ci_low": low, "ci_high": high,
                    "p": float(min(p, 1.0)), "minimum_detectable_difference": float(z * np.std(resampled_difference))}
            if metric == "accuracy" and len(groups[first]) == len(groups[second]) == 1:
                a, b = groups[first][0], groups[second][0]
                pair["mcnemar"] = mcnemar(np.array(a.gold) == np.array(a.predicted),
                                          np.array(b.gold) == np.array(b.predicted))
            pairs.append(pair)
        for pair, corrected in zip(pairs, holm([pair["p"] for pair in pairs]), strict=True):
            pair["p_holm"] = corrected
            pair["verdict"] = verdict(pair)
        result["metrics"][metric] = {"groups": summary, "pairs": pairs}
    return result


def verdict(pair: dict) -> str:
    """The pair's conclusion in plain words."""
    if pair["p_holm"] < ALPHA:
        better, worse = (pair["first"], pair["second"]) if pair["difference"] > 0 else (pair["second"], pair["first"])
        return f"{better} > {worse}"
    if pair["minimum_detectable_difference"] == 0:  # no item where the two differ: no power to estimate
        return "no difference this test set can show (the two predicted every test item alike)"
    return (f"no difference this test set can show (minimum detectable difference "
            f"{100 * pair['minimum_detectable_difference']:.1f} points)")


def group_runs(folders: list[str], given: list[str] | None = None) -> dict[str, list[str]]:
    """Groups of run folders: `NAME=DIR,DIR` given, else by model for `<model>/seed<k>` folders, else one per run."""
    if given:
        groups = {}
        for spec in given:
            name, _, members = spec.partition("=")
            if not name or not members:
                raise UsageError(f"--group {spec!r}: write NAME=DIR[,DIR...].")
            groups[name] = members.split(",")
        return groups
    groups: dict[str, list[str]] = {}
    for folder in folders:
        path = Path(folder).resolve()
        name = path.parent.name if _SEED_FOLDER.match(path.name) else path.name
        groups.setdefault(name, []).append(folder)
    return groups


def markdown(result: dict) -> str:
    """comparison.md: per metric, the groups and the pairwise verdicts."""
    unit = "sentences" if result["kind"] == "ner" else "examples"
    lines = ["# Comparison of runs", "",
             f"{result['items']:,} test {unit}, the same in every run; paired bootstrap over them (and over the seeds "
             f"of a group), {result['resamples']:,} resamples, seed {result['seed']}; p-values Holm-corrected over "
             "the pairs of each metric.", ""]
    for metric, data in result["metrics"].items():
        lines += [f"## {metric}", "", "| group | runs | mean | std | min | max |", "|---|---:|---:|---:|---:|---:|"]
        for name, g in data["groups"].items():
            lines.append(f"| {name} | {g['runs']} | {g['mean']:.4f} | {g['std']:.4f} | {g['min']:.4f} | "
                         f"{g['max']:.4f} |")
        lines += ["", "| pair | difference | 95% CI | p (Holm) | McNemar p | verdict |", "|---|---:|---|---:|---:|---|"]
        for pair in data["pairs"]:
            exact = f"{pair['mcnemar']['p']:.3g}" if "mcnemar" in pair else "–"
            lines.append(f"| {pair['first']} vs {pair['second']} | {pair['difference']:+.4f} | "
                         f"{pair['ci_low']:+.4f} to {pair['ci_high']:+.4f} | {pair['p_holm']:.3g} | {exact} | "
                         f"{pair['verdict']} |")
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
    if sum(len(v) for v in folders.values()) < 2 or len(folders) < 2:
        raise UsageError("give at least two runs, in at least two groups, to compare.")
    groups = {name: [load_run(folder) for folder in members] for name, members in folders.items()}
    result = compare(groups, Bootstrap(args.resamples, args.seed))
    text = markdown(result)
    print(text)
    if args.output:
        os.makedirs(args.output, exist_ok=True)
        Path(args.output, "comparison.md").write_text(text, encoding="utf-8")
        Path(args.output, "comparison.json").write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    return 0
