"""Do bertft's statistics mean what they say? A simulation from populations whose truth is known: test sets are
drawn from them, the package's own functions score each (and `python -m bertft_utils.compare` runs on prediction
files, as a user calls it), and we count how often a 95% interval covers the population value and how often a
verdict names a winner where there is none.

bench/calibration.py runs every case at full size into results/calibration.md; tests/test_calibration.py runs a
fast version of some. Each case is a function (rng, test size) -> {what it checks: True/False} for one simulated
test set.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import math
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import stats

from bertft_utils.evaluation.comparison import main as compare_main
from bertft_utils.evaluation.metrics import classification_scores, entity_scores, multilabel_scores, regression_scores
from bertft_utils.evaluation.uncertainty import Bootstrap

RESAMPLES = 1000  # the scripts' default --bootstrap_resamples, and compare's default --resamples
Case = Callable[[np.random.Generator, int], dict[str, bool]]


def covers(metrics: dict, name: str, truth: float) -> bool:
    """Whether the reported 95% interval of `name` holds `truth` (an interval not reported does not)."""
    low, high = metrics.get(f"{name}_ci_low"), metrics.get(f"{name}_ci_high")
    return low is not None and low <= truth <= high


def _bootstrap(rng: np.random.Generator) -> Bootstrap:
    return Bootstrap(RESAMPLES, int(rng.integers(2**31)))


# ---- populations of single runs, and their true scores ----

def binary_case(rng: np.random.Generator, n: int) -> dict[str, bool]:
    """Two classes, 30% positive; the classifier finds 85% of the positives and 90% of the negatives."""
    prevalence, sensitivity, specificity = 0.3, 0.85, 0.9
    gold = rng.random(n) < prevalence
    predicted = np.where(gold, rng.random(n) < sensitivity, rng.random(n) > specificity)
    tp, fp = prevalence * sensitivity, (1 - prevalence) * (1 - specificity)
    tn, fn = (1 - prevalence) * specificity, prevalence * (1 - sensitivity)
    truth = {"accuracy": tp + tn, "precision": tp / (tp + fp), "recall": tp / (tp + fn),
             "f1": 2 * tp / (2 * tp + fp + fn)}
    truth["macro_f1"] = (truth["f1"] + 2 * tn / (2 * tn + fn + fp)) / 2
    probabilities = np.where(predicted[:, None], [[0.2, 0.8]], [[0.8, 0.2]])
    metrics = classification_scores(["pos" if g else "neg" for g in gold], probabilities, ["neg", "pos"],
                                    positive=("pos", "given"), bootstrap=_bootstrap(rng))
    return {name: covers(metrics, name, value) for name, value in truth.items()}


RARE_LABELS = 149  # Taipei QA's answers: 10 to 221 records each (7,986 in all), many with one item in a 10% test split
RARE_ACCURACY = 0.946


def rare_label_population() -> tuple[np.ndarray, dict[str, float]]:
    """The joint distribution of (gold, predicted) over RARE_LABELS labels whose frequencies run geometrically from
    221 to 10 (Taipei QA's range), a classifier right RARE_ACCURACY of the time whose errors fall on the other
    labels by frequency; and its true macro precision/recall/F1 and accuracy."""
    frequency = np.geomspace(221, 10, RARE_LABELS)
    frequency /= frequency.sum()
    joint = np.outer(frequency * (1 - RARE_ACCURACY), frequency) / (1 - frequency)[:, None]
    np.fill_diagonal(joint, frequency * RARE_ACCURACY)
    hits, predicted, gold = np.diag(joint), joint.sum(axis=0), joint.sum(axis=1)
    truth = {"accuracy": RARE_ACCURACY, "precision": float(np.mean(hits / predicted)),
             "recall": float(np.mean(hits / gold)), "f1": float(np.mean(2 * hits / (predicted + gold)))}
    truth["macro_f1"] = truth["f1"]
    return joint, truth


# a wrong answer's gold label ranks second (0.5) or third (0.2) among the scores, else lower
SECOND, THIRD = 0.5, 0.2


def rare_labels_case(rng: np.random.Generator, n: int) -> dict[str, bool]:
    """Many rare labels (macro averages, top-3 accuracy)."""
    joint, truth = rare_label_population()
    truth["top3_accuracy"] = RARE_ACCURACY + (1 - RARE_ACCURACY) * (SECOND + THIRD)
    cells = rng.choice(joint.size, size=n, p=joint.ravel() / joint.sum())
    gold, predicted = cells // RARE_LABELS, cells % RARE_LABELS
    scores = rng.random((n, RARE_LABELS)) * 0.1
    scores[np.arange(n), predicted] = 1.0
    wrong = np.flatnonzero(gold != predicted)
    rank = rng.random(len(wrong))
    scores[wrong, gold[wrong]] = np.where(rank < SECOND, 0.5, np.where(rank < SECOND + THIRD, 0.3, -1.0))
    third = wrong[(rank >= SECOND) & (rank < SECOND + THIRD)]  # another label between the top one and gold
    other = (gold[third] + 1 + rng.integers(0, RARE_LABELS - 2, len(third))) % RARE_LABELS
    other = np.where(other == predicted[third], (other + 1) % RARE_LABELS, other)
    other = np.where(other == gold[third], (other + 1) % RARE_LABELS, other)
    scores[third, other] = 0.5
    labels = [str(i) for i in range(RARE_LABELS)]
    metrics = classification_scores([labels[g] for g in gold], scores, labels, top_k=(3,), bootstrap=_bootstrap(rng))
    return {name: covers(metrics, name, value) for name, value in truth.items()}


NER_TYPES = {"PER": (0.45, 0.92), "LOC": (0.35, 0.85), "ORG": (0.18, 0.70), "MISC": (0.02, 0.60)}  # share, found
NER_ENTITIES, NER_SPURIOUS = 1.5, 0.2  # per sentence (Poisson means)


def ner_truth() -> dict[str, float]:
    """Entity-level micro precision/recall/F1, macro F1 and each type's F1 of NER_TYPES' tagger."""
    tp = {t: NER_ENTITIES * share * found for t, (share, found) in NER_TYPES.items()}
    gold = {t: NER_ENTITIES * share for t, (share, _) in NER_TYPES.items()}
    predicted = {t: tp[t] + NER_SPURIOUS * share for t, (share, _) in NER_TYPES.items()}
    truth = {f"{t}_f1": 2 * tp[t] / (predicted[t] + gold[t]) for t in NER_TYPES}
    tp_all, gold_all, predicted_all = sum(tp.values()), sum(gold.values()), sum(predicted.values())
    truth.update(precision=tp_all / predicted_all, recall=tp_all / gold_all,
                 f1=2 * tp_all / (predicted_all + gold_all), macro_f1=float(np.mean(list(truth.values()))))
    return truth


def ner_case(rng: np.random.Generator, n: int) -> dict[str, bool]:
    """Sentences with Poisson-many entities of four types (one rare); each found or missed, plus spurious ones;
    scored by seqeval through entity_scores, sentences resampled."""
    names, shares = list(NER_TYPES), np.array([share for share, _ in NER_TYPES.values()])
    gold_tags, predicted_tags = [], []
    for _ in range(n):
        gold, predicted = ["O"], ["O"]
        for kind in rng.choice(len(names), size=rng.poisson(NER_ENTITIES), p=shares):
            tags = [f"B-{names[kind]}", f"I-{names[kind]}"]
            gold += [*tags, "O"]
            predicted += [*(tags if rng.random() < NER_TYPES[names[kind]][1] else ["O", "O"]), "O"]
        for kind in rng.choice(len(names), size=rng.poisson(NER_SPURIOUS), p=shares):
            gold += ["O", "O", "O"]
            predicted += [f"B-{names[kind]}", f"I-{names[kind]}", "O"]
        gold_tags.append(gold)
        predicted_tags.append(predicted)
    metrics = entity_scores(gold_tags, predicted_tags, bootstrap=_bootstrap(rng))
    return {name: covers(metrics, name, value) for name, value in ner_truth().items()}


MULTILABEL = [(0.4, 0.9, 0.05), (0.3, 0.85, 0.05), (0.2, 0.8, 0.03), (0.1, 0.7, 0.02), (0.05, 0.6, 0.01),
              (0.03, 0.5, 0.01), (0.02, 0.5, 0.005), (0.01, 0.4, 0.005)]  # prevalence, found, false alarms


def multilabel_case(rng: np.random.Generator, n: int) -> dict[str, bool]:
    """Eight independent labels, common to rare; micro and macro scores, subset accuracy, Hamming loss."""
    prevalence, found, alarm = (np.array(column) for column in zip(*MULTILABEL, strict=True))
    gold = rng.random((n, len(MULTILABEL))) < prevalence
    predicted = np.where(gold, rng.random(gold.shape) < found, rng.random(gold.shape) < alarm)
    tp, fp, fn = prevalence * found, (1 - prevalence) * alarm, prevalence * (1 - found)
    truth = {"precision": tp.sum() / (tp + fp).sum(), "recall": tp.sum() / (tp + fn).sum(),
             "f1": 2 * tp.sum() / (2 * tp + fp + fn).sum(), "macro_f1": float(np.mean(2 * tp / (2 * tp + fp + fn))),
             "subset_accuracy": float(np.prod(1 - fp - fn)), "hamming_loss": float(np.mean(fp + fn))}
    metrics = multilabel_scores(gold.astype(int), predicted.astype(int), [f"l{i}" for i in range(len(MULTILABEL))],
                                bootstrap=_bootstrap(rng))
    return {name: covers(metrics, name, value) for name, value in truth.items()}


REGRESSION_SLOPE, REGRESSION_NOISE = 0.8, 0.6  # predicted = slope * gold + noise, gold standard normal


def regression_case(rng: np.random.Generator, n: int) -> dict[str, bool]:
    """A regression whose predictions correlate 0.8 with the gold (both normal)."""
    gold = rng.normal(size=n)
    predicted = REGRESSION_SLOPE * gold + rng.normal(scale=REGRESSION_NOISE, size=n)
    rho = REGRESSION_SLOPE / math.hypot(REGRESSION_SLOPE, REGRESSION_NOISE)
    mse = (1 - REGRESSION_SLOPE) ** 2 + REGRESSION_NOISE**2
    truth = {"pearson": rho, "spearman": 6 / math.pi * math.asin(rho / 2), "mse": mse, "rmse": math.sqrt(mse),
             "mae": math.sqrt(mse) * math.sqrt(2 / math.pi)}
    metrics = regression_scores(gold, predicted, _bootstrap(rng))
    return {name: covers(metrics, name, value) for name, value in truth.items()}


# ---- runs compared by `compare`: test items of varying difficulty, models, seeds ----

DIFFICULTY_SPREAD = 2.0  # items' difficulty on the logit scale (standard deviation): runs err on the same hard items
BASE_LOGIT = 2.0  # about 77.5% accuracy
_NODES, _WEIGHTS = np.polynomial.hermite_e.hermegauss(80)


def expected_accuracy(logit: float, seed_spread: float = 0.0) -> float:
    """A model's accuracy over the item population (and over its seeds): E[sigmoid(logit + seed + difficulty)]."""
    spread = math.hypot(DIFFICULTY_SPREAD, seed_spread)
    return float(np.sum(_WEIGHTS / (1 + np.exp(-(logit + spread * _NODES)))) / math.sqrt(2 * math.pi))


@dataclass(frozen=True)
class Comparison:
    """Models (their logits: equal ones are equally good), seeds per model and the spread of a seed's logit."""

    logits: tuple[float, ...]
    seeds: int
    seed_spread: float

    def draw(self, rng: np.random.Generator, n: int) -> tuple[dict[str, list[np.ndarray]], dict[str, np.ndarray]]:
        """Per model, per seed: which of n test items (of one shared draw) the run gets right; and each run's logit."""
        difficulty = rng.normal(scale=DIFFICULTY_SPREAD, size=n)
        runs, logits = {}, {}
        for index, logit in enumerate(self.logits):
            logits[f"m{index}"] = logit + rng.normal(scale=self.seed_spread, size=self.seeds)
            runs[f"m{index}"] = [rng.random(n) < 1 / (1 + np.exp(-(seed + difficulty))) for seed in logits[f"m{index}"]]
        return runs, logits

    def truth(self, first: str, second: str, logits: dict[str, np.ndarray], about_models: bool) -> float:
        """The true difference of accuracy over the item population: of the models (over seeds too), or of the
        mean accuracies of these runs."""
        if about_models:
            return (expected_accuracy(self.logits[int(first[1:])], self.seed_spread)
                    - expected_accuracy(self.logits[int(second[1:])], self.seed_spread))
        return (float(np.mean([expected_accuracy(logit) for logit in logits[first]]))
                - float(np.mean([expected_accuracy(logit) for logit in logits[second]])))


def write_classification_run(folder: Path, correct: np.ndarray) -> None:
    """A run folder as run_classify.py writes it: predictions.tsv (gold "1"; right or wrong) and test_results.json."""
    folder.mkdir(parents=True)
    with open(folder / "predictions.tsv", "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, delimiter="\t", lineterminator="\n")
        writer.writerow(["file", "line", "text", "gold", "predicted", "probability"])
        for line, right in enumerate(correct, start=2):
            writer.writerow(["test.jsonl", line, "", "1", "1" if right else "0", "0.9"])
    (folder / "test_results.json").write_text(json.dumps({"test_positive_label": "1"}), encoding="utf-8")


def run_compare(runs: dict[str, list[np.ndarray]], seed: int) -> dict:
    """`python -m bertft_utils.compare` on run folders `<model>/seed<k>` as a user calls it; its comparison.json."""
    with tempfile.TemporaryDirectory() as root:
        folders = []
        for model, seeds in runs.items():
            for k, correct in enumerate(seeds):
                folder = Path(root) / model / f"seed{k}"
                write_classification_run(folder, correct)
                folders.append(str(folder))
        with contextlib.redirect_stdout(io.StringIO()):
            compare_main([*folders, "--output", str(Path(root) / "comparison"), "--resamples", str(RESAMPLES),
                          "--seed", str(seed)])
        return json.loads((Path(root) / "comparison" / "comparison.json").read_text(encoding="utf-8"))


def comparison_case(setting: Comparison) -> Case:
    """For one simulated test set: whether every pair's interval of the accuracy difference covers the true one (of
    the models when seed variance was measured, else of these runs), whether any pair was declared different about
    the models ("X > Y") or about the runs ("run X > run Y"), and whether a declared winner is the truly better."""
    def case(rng: np.random.Generator, n: int) -> dict[str, bool]:
        runs, logits = setting.draw(rng, n)
        pairs = run_compare(runs, int(rng.integers(2**31)))["metrics"]["accuracy"]["pairs"]
        truths = [setting.truth(pair["first"], pair["second"], logits, pair["seed_variance_measured"])
                  for pair in pairs]
        claims = [(pair, truth) for pair, truth in zip(pairs, truths, strict=True) if pair["p_adjusted"] < 0.05]
        return {"every interval covers the true difference": all(
                    pair["ci_low"] <= truth <= pair["ci_high"] for pair, truth in zip(pairs, truths, strict=True)),
                "a model-level verdict 'X > Y'": any(pair["seed_variance_measured"] for pair, _ in claims),
                "a run-level verdict 'run X > run Y'": any(not pair["seed_variance_measured"] for pair, _ in claims),
                "a verdict against the truth": any(truth * pair["difference"] <= 0 for pair, truth in claims),
                "a verdict naming the better model": any(truth * pair["difference"] > 0 for pair, truth in claims)}
    return case


SEED_SPREAD = 0.04  # a seed's logit: about 0.45 points of accuracy, as three seeds of one recipe spread (results/
#                     significance.md: 91.78-92.49)
WIDE_SEED_SPREAD = 0.1  # about 1.1 points


@dataclass(frozen=True)
class CaseSpec:
    """A case of the calibration page: what it simulates, its function, and the goal of each outcome
    ("coverage": 93-97% of intervals hold the truth; "false positives": at most 5%; "power": reported)."""

    name: str
    description: str
    case: Case
    goal: str


def cases() -> list[CaseSpec]:
    """Every case of results/calibration.md, in its order."""
    equal3 = (BASE_LOGIT,) * 3
    return [
        CaseSpec("binary classification", "30% positive; the classifier finds 85% of positives, 90% of negatives",
                 binary_case, "coverage"),
        CaseSpec("many rare labels", f"{RARE_LABELS} labels, frequencies from 221 to 10 per 7,986 as Taipei QA's; "
                 f"{RARE_ACCURACY:.1%} right; a wrong answer's gold ranks 2nd {SECOND:.0%}, 3rd {THIRD:.0%}",
                 rare_labels_case, "coverage"),
        CaseSpec("NER", "sentences with Poisson(1.5) entities of PER/LOC/ORG/MISC (45/35/18/2%), found 92/85/70/60%; "
                 "Poisson(0.2) spurious entities a sentence", ner_case, "coverage"),
        CaseSpec("multi-label", "8 independent labels, prevalence 40% to 1%, found 90% to 40%", multilabel_case,
                 "coverage"),
        CaseSpec("regression", "gold and prediction bivariate normal, correlation 0.8", regression_case, "coverage"),
        CaseSpec("two runs, equal", "one run a model, no seed variance, equal accuracy (77.5%)",
                 comparison_case(Comparison((BASE_LOGIT, BASE_LOGIT), 1, 0.0)), "false positives"),
        CaseSpec("two runs, one better", "one run a model, no seed variance; accuracy 77.5% against 79.1% (+1.6 "
                 "points)", comparison_case(Comparison((BASE_LOGIT + 0.15, BASE_LOGIT), 1, 0.0)), "power"),
        CaseSpec("equal models, 1 seed each", f"seed spread {SEED_SPREAD} on the logit (about 0.45 points)",
                 comparison_case(Comparison((BASE_LOGIT, BASE_LOGIT), 1, SEED_SPREAD)), "false positives"),
        CaseSpec("equal models, 3 seeds each", f"seed spread {SEED_SPREAD} on the logit (about 0.45 points)",
                 comparison_case(Comparison((BASE_LOGIT, BASE_LOGIT), 3, SEED_SPREAD)), "false positives"),
        CaseSpec("equal models, 3 seeds each, wide seed spread", f"seed spread {WIDE_SEED_SPREAD} (about 1.1 points)",
                 comparison_case(Comparison((BASE_LOGIT, BASE_LOGIT), 3, WIDE_SEED_SPREAD)), "false positives"),
        CaseSpec("3 equal models, 3 seeds each (3 pairs)", f"seed spread {SEED_SPREAD}",
                 comparison_case(Comparison(equal3, 3, SEED_SPREAD)), "false positives"),
        CaseSpec("5 equal models, 3 seeds each (10 pairs)", f"seed spread {SEED_SPREAD}",
                 comparison_case(Comparison((BASE_LOGIT,) * 5, 3, SEED_SPREAD)), "false positives"),
        CaseSpec("one model better, 3 seeds each", f"+0.15 on the logit (+1.6 points), seed spread {SEED_SPREAD}",
                 comparison_case(Comparison((BASE_LOGIT + 0.15, BASE_LOGIT), 3, SEED_SPREAD)), "power"),
    ]


def simulate(case: Case, n: int, simulations: int, seed: int | list[int]) -> dict[str, int]:
    """How many of `simulations` test sets of n items (drawn with `seed`) made each outcome of `case` true."""
    rng = np.random.default_rng(seed)
    counts: dict[str, int] = {}
    for _ in range(simulations):
        for name, happened in case(rng, n).items():
            counts[name] = counts.get(name, 0) + bool(happened)
    return counts


def rate_interval(hits: int, total: int) -> tuple[float, float]:
    """The exact (Clopper-Pearson) 95% interval of a rate of hits out of total."""
    interval = stats.binomtest(hits, total).proportion_ci(0.95, method="exact")
    return float(interval.low), float(interval.high)
