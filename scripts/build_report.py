#!/usr/bin/env python
"""Collect the reproduction runs under OUT into OUT/REPORT.md and one bar chart (PNG) per task.

    python scripts/build_report.py --out outputs/reproduce

Reads only what the runs wrote: `<task>/<model-slug>/seed<k>/run_done.json` (model, seed, Hub repo),
`test_results.json` (with each score's 95% confidence interval), `test_entities.json` (NER), `answers.tsv` (Taipei
QA) and the prediction files, from which the models of a task are compared (bertft_utils.evaluation.comparison:
paired bootstrap over the test items and the seeds, Holm-corrected; saved as `<task>/comparison.json` and reused)
and shown item by item (`<task>/comparison_report.html`: each model's first seed, the items where they disagree
first; written once from the prediction files and linked from REPORT.md). Several seeds give mean ± std.
The original report's figures come from `scripts/original_report.json` (a copy of
`../shared/data/original_report/original_report.json`: every number of the report, typed from its text).
"""

from __future__ import annotations

import argparse
import csv
import json
import statistics
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bertft_utils.errors import UsageError  # noqa: E402
from bertft_utils.evaluation.comparison import compare, load_run  # noqa: E402
from bertft_utils.evaluation.html_report import COMPARISON_FILE, write_comparison_report  # noqa: E402
from bertft_utils.evaluation.plots import plot_model_comparison  # noqa: E402
from bertft_utils.evaluation.uncertainty import Bootstrap  # noqa: E402

TASKS = {
    "ner": "MSRA NER (entity level, full-length test file)",
    "classify": "News Headlines Sarcasm v1 (test split)",
    "qa_label": "Taipei QA (question -> department, test split)",
}
# The metric each task's models are compared on (the tables' first score).
HEADLINE = {"ner": ("f1", "micro F1"), "classify": ("accuracy", "test accuracy"),
            "qa_label": ("accuracy", "top-1 accuracy")}


def intervals(runs: list[dict], key: str) -> str:
    """Each run's 95% confidence interval of `key` ('a-b', one per seed), from its test_results.json."""
    shown = [f"{r['test'][f'test_{key}_ci_low']:.4f}-{r['test'][f'test_{key}_ci_high']:.4f}" for r in runs
             if f"test_{key}_ci_low" in r["test"]]
    return "; ".join(shown) or "–"


def group_name(model: str, models: dict) -> str:
    """The family (BERT, ALBERT, RoBERTa) when it names one model of the task, else the model's slug."""
    families = [family(m) for m in models]
    return family(model) if families.count(family(model)) == 1 else model.split("/")[-1]


def run_inputs(run: dict) -> dict:
    """What a run's comparison is made from, by content: the SHA-256 of its test_results.json and of its prediction
    file (when kept; a committed report keeps only the scores)."""
    from bertft_utils.data.readers import file_sha256

    folder = Path(run["folder"])
    digests = {name: file_sha256(str(folder / name)) for name in ("test_results.json", "predictions.tsv",
                                                                   "predictions.txt") if (folder / name).is_file()}
    return digests


def same_inputs(saved: dict, current: dict) -> bool:
    """Whether a saved comparison was made from these runs as they are now: the same runs, each test_results.json
    unchanged, and each prediction file still there unchanged (a redone run rewrites both)."""
    recorded = saved.get("inputs")
    if recorded is None or set(recorded) != set(current):
        return False
    return all(recorded[folder].get(name) == digest for folder, digests in current.items()
               for name, digest in digests.items())


def comparison(out: Path, task: str, models: dict[str, list[dict]]) -> tuple[dict | None, bool]:
    """The task's models compared on their test predictions, and whether it was computed now: `<task>/comparison.json`
    when saved from these very runs as they are (run_inputs), else computed from the runs' prediction files (and
    saved); None when fewer than two models or no prediction files."""
    path = out / task / "comparison.json"
    saved = read_json(path)
    if len(models) < 2:
        return None, False
    inputs = {str(Path(r["folder"]).relative_to(out)): run_inputs(r) for runs in models.values() for r in runs}
    if saved is not None and same_inputs(saved, inputs):
        return saved, False
    try:
        groups = {group_name(model, models): [load_run(r["folder"]) for r in runs] for model, runs in models.items()}
        result = compare(groups, Bootstrap(1000, 42))
    except UsageError as error:
        print(f"[{task}] no comparison: {error}", file=sys.stderr)
        if saved is not None:
            print(f"[{task}] {path} was made from other runs (or runs since redone): not shown.", file=sys.stderr)
        return None, False
    result["groups"] = {name: [str(Path(folder).relative_to(out)) for folder in folders]
                        for name, folders in result["groups"].items()}
    result["inputs"] = inputs
    path.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    return result, True


def disagreement_page(out: Path, task: str, models: dict[str, list[dict]], rebuild: bool) -> list[str]:
    """The link to `<task>/comparison_report.html` (each model's first seed side by side, disagreements first),
    written from the runs' prediction files when missing or when the comparison was computed again (`rebuild`);
    nothing when it cannot be written."""
    path = out / task / COMPARISON_FILE
    if (rebuild or not path.is_file()) and len(models) >= 2:
        try:
            write_comparison_report([runs[0]["folder"] for runs in models.values()], path)
        except UsageError as error:
            path.unlink(missing_ok=True)  # a page of other runs is never shown as these runs'
            print(f"[{task}] no comparison page: {error}", file=sys.stderr)
    if not path.is_file():
        return []
    return [f"Where the models disagree, test item by test item (each model's first seed; the page holds the test "
            f"data's texts): [{task}/{COMPARISON_FILE}]({task}/{COMPARISON_FILE}).", ""]


def count(n: float) -> str:
    """110.1M, 3.9M, 96k."""
    return f"{n / 1e6:.1f}M" if n >= 1e6 else f"{n / 1e3:.0f}k"


def cost_section(models: dict[str, list[dict]]) -> list[str]:
    """Cost beside quality, per model (first seed): parameters, training time, peak memory, prediction speed."""
    rows = []
    for model, runs in models.items():
        train, test = runs[0]["train"], runs[0]["test"]
        parameters = train.get("train_parameters") or test.get("test_parameters")
        if parameters is None:
            continue
        embedding = train.get("train_embedding_parameters") or test.get("test_embedding_parameters")
        seconds = train.get("train_runtime")
        took = "–" if seconds is None else f"{seconds / 60:.1f} min" if seconds >= 60 else f"{seconds:.0f} s"
        memory = max(train.get("train_peak_memory_gib", 0), test.get("test_peak_memory_gib", 0))
        speed = test.get("test_samples_per_second") or test.get("test_sentences_per_second")
        shown_speed = f"{speed:.1f}" if speed else "–"
        rows.append(f"| `{model}` | {count(parameters)} ({count(embedding)} / {count(parameters - embedding)}) | "
                    f"{took} | {memory:.2f} | {shown_speed} |")
    if not rows:
        return []
    return ["**Cost beside quality** (first seed; from each run's train_results.json and test_results.json):", "",
            "| model | parameters (embeddings / encoder) | training | peak resident memory (GiB) | "
            "prediction (items/s) |", "|---|---:|---:|---:|---:|", *rows, ""]


# The settings a reader needs to redo a recipe (the rest are the task's fixed flags, in scripts/reproduce_<task>.sh).
RECIPE = {"learning_rate": "learning rate", "per_device_train_batch_size": "batch", "num_train_epochs": "epochs",
          "weight_decay": "weight decay", "warmup_steps": "warm-up", "max_seq_length": "max length"}


def run_arguments(run: dict) -> dict:
    """The arguments a run was made with that can change a number (run_done.json, written by run_record.py)."""
    return (run.get("settings") or {}).get("arguments") or {}


def shown_recipe(arguments: dict) -> str:
    return ", ".join(f"{label} {arguments[name]:g}" if isinstance(arguments[name], int | float) else
                     f"{label} {arguments[name]}" for name, label in RECIPE.items() if name in arguments)


def tuning_section(models: dict[str, list[dict]]) -> list[str]:
    """How the models were tuned: the same N-trial search for each (budget, space, each model's chosen values), or
    no search and the one recipe they share (or, when they do not share one, each model's)."""
    from bertft_utils.config.search_space import search_space

    runs = [(model, run, run_arguments(run)) for model, task_runs in models.items() for run in task_runs]
    if not any(arguments for _, _, arguments in runs):
        return []  # runs recorded without their settings: nothing to say
    budgets = {model: arguments.get("hp_search_trials", 0) for model, _, arguments in runs}
    if not any(budgets.values()):
        recipes = {model: shown_recipe(arguments) for model, _, arguments in runs}
        if len(set(recipes.values())) == 1:
            return [f"**Tuning**: none; all models share one recipe ({next(iter(recipes.values()))}). A model that "
                    "needs other settings may look worse only for that: `HP_TRIALS=N` gives each model the same "
                    "N-trial search on validation.", ""]
        return ["**Tuning**: none, and the models' recipes differ:", "",
                *[f"- `{model}`: {recipe}" for model, recipe in recipes.items()], ""]
    searched = [search_space(arguments.get("hp_search_space"), run["settings"]["script"]) for _, run, arguments in runs]
    spaces, space = {json.dumps(one, sort_keys=True) for one in searched}, searched[0]
    if len(set(budgets.values())) > 1 or len(spaces) > 1:
        lines = ["**Unequal tuning budgets**: " + "; ".join(f"`{m}` {n} trials" for m, n in budgets.items()) +
                 (" (and different search spaces)" if len(spaces) > 1 else "") + ": differences may come from the "
                 "tuning, not the models.", ""]
    else:
        lines = [f"**Equal tuning budget**: each model (each seed) searched {next(iter(budgets.values()))} trials "
                 "(Optuna, objective: the validation metric; the test split is not seen) before its final training. "
                 f"Search space: `{json.dumps(space)}`. Chosen values:", ""]
    names = list(space)
    lines += ["| model | seed | " + " | ".join(names) + " |", "|---|---:|" + "---:|" * len(names)]
    for model, run, _ in runs:
        chosen = read_json(Path(run["folder"]) / "hp_search" / "best_config.json") or {}
        lines.append(f"| `{model}` | {run['seed']} | " + " | ".join(
            f"{chosen[name]:.3g}" if isinstance(chosen.get(name), float) else str(chosen.get(name, "–"))
            for name in names) + " |")
    return [*lines, ""]


def leakage_section(task: str, models: dict[str, list[dict]]) -> list[str]:
    """Test items that also occur in training, and each model's headline score on the other test items."""
    metric, name = HEADLINE[task]
    rows, in_train = [], set()
    for model, runs in models.items():
        scored = [r["test"] for r in runs if "test_unseen_samples" in r["test"]]
        if not scored:
            continue
        test = scored[0]
        in_train.add(test.get("test_records_in_train", 0))
        unseen = [t[f"test_unseen_{metric}"] for t in scored if f"test_unseen_{metric}" in t]
        rows.append(f"| `{model}` | {test.get('test_records_in_train', 0):,} of {test.get('test_samples', 0):,} | "
                    f"{mean_std([t[f'test_{metric}'] for t in scored])} | {mean_std(unseen)} |")
    if not rows:
        return []
    if in_train == {0}:
        return ["**Leakage-aware**: no test item occurs in the training part (identical text after whitespace "
                "normalisation): the scores above are on unseen items.", ""]
    return [f"**Leakage-aware**: test items whose text also occurs in the training part (identical after whitespace "
            f"normalisation), and {name} on the other test items:", "",
            f"| model | test items also in training | {name}, all test items | {name}, items not in training |",
            "|---|---:|---:|---:|", *rows, ""]


def comparison_section(result: dict | None, task: str, conclusion: str) -> list[str]:
    """Under a task's tables: is each difference real, and the original report's conclusion beside ours."""
    metric, name = HEADLINE[task]
    if not result or metric not in result["metrics"]:
        return [f"The original report concluded: \"{conclusion}\" (no comparison here: the runs' prediction files "
                "are not available).", ""]
    data = result["metrics"][metric]
    unit = "sentences" if result["kind"] == "ner" else "examples"
    lines = [f"**Is the difference real?** {name}, paired bootstrap over the {result['items']:,} test {unit} and, "
             f"where a model has two or more seeds, their variance; {result['resamples']:,} resamples; "
             f"{result.get('family', 'Holm over the pairs')} (p, intervals and minimum detectable differences):",
             "", "| pair | difference | CI | p (adjusted) | McNemar p | seed variance | verdict |",
             "|---|---:|---|---:|---:|---|---|"]
    for pair in data["pairs"]:
        exact = f"{pair['mcnemar']['p']:.3g}" if "mcnemar" in pair else "–"
        seeds = "measured" if pair.get("seed_variance_measured", True) else "not measured (one seed)"
        lines.append(f"| {pair['first']} vs {pair['second']} | {pair['difference']:+.4f} | {pair['ci_low']:+.4f} to "
                     f"{pair['ci_high']:+.4f} | {adjusted_p(pair):.3g} | {exact} | {seeds} | {pair['verdict']} |")
    ours = "; ".join(pair_in_words(pair) for pair in data["pairs"])
    lines += ["", f"The original report concluded: \"{conclusion}\" Here, on {name}: {ours}.", ""]
    return lines


def adjusted_p(pair: dict) -> float:
    return pair.get("p_adjusted", pair.get("p_holm"))


def pair_in_words(pair: dict) -> str:
    """'ALBERT > BERT (p = 0.003)', 'run ALBERT > run BERT on this test set (...; p = 0.003)', or 'BERT vs ALBERT: no
    difference this test set can show (p = 0.41, minimum detectable difference 1.1 points)'."""
    if ">" in pair["verdict"]:
        if pair["verdict"].endswith(")"):
            return f"{pair['verdict'][:-1]}; p = {adjusted_p(pair):.2g})"
        return f"{pair['verdict']} (p = {adjusted_p(pair):.2g})"
    what, _, why = pair["verdict"].partition(" (")
    return f"{pair['first']} vs {pair['second']}: {what} (p = {adjusted_p(pair):.2g}" + (f", {why}" if why else ")")


def differences(runs: dict[str, dict[str, list[dict]]]) -> str:
    """What differs from the original report, with the counts of the runs collected (never typed figures)."""
    ner = [r for task_runs in runs.get("ner", {}).values() for r in task_runs]
    counts = ""
    if ner and ner[0]["entities"] and "micro avg" in ner[0]["entities"]:
        types = " / ".join(f"{name} {values['support']:,}" for name, values in ner[0]["entities"].items()
                           if not name.endswith(" avg"))
        sentences = ner[0]["test"].get("test_samples")
        counts = (f" here: {sentences:,} test sentences with {ner[0]['entities']['micro avg']['support']:,} entities "
                  f"({types})," if sentences else "")
    return f"""\
- **NER is scored on the test file**:{counts} at full length, nothing truncated (long sentences are windowed and
  stitched). The original report's NER support, 74,709 entities (LOC 36,517 / ORG 20,574 / PER 17,618), matches the
  MSRA *training* file (`../shared/data/original_report/README.md`), so the original was most likely scored on
  training data; its F1 is then not comparable with a test-set F1.
- **Sarcasm**: the original report gives *validation* accuracy; ours are on a held-out test split (seeded, stratified
  80/10/10, the same split for every model: `classify/split_ids.json`), with the best epoch chosen on validation.
- **Taipei QA**: the original report gives no held-out accuracy; ours are top-1/top-3 on a seeded stratified 10%
  test split shared by every model (`qa_label/split_ids.json`). Every model answers the report's three questions.
"""


def family(model: str) -> str:
    """BERT / ALBERT / RoBERTa, from the checkpoint name (hfl's RoBERTa is packaged as BERT)."""
    name = model.lower()
    if "albert" in name:
        return "ALBERT"
    if "roberta" in name or "rbt" in name:
        return "RoBERTa"
    return "BERT" if "bert" in name else model


def read_json(path: Path) -> dict | None:
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None


def read_answers(path: Path) -> dict[str, list[tuple[str, float]]]:
    """answers.tsv: question -> [(answer, score), ...] in rank order."""
    answers: dict[str, list[tuple[str, float]]] = {}
    if path.is_file():
        with open(path, encoding="utf-8", newline="") as handle:
            for row in csv.reader(handle, delimiter="\t"):
                if len(row) == 3:
                    answers.setdefault(row[0], []).append((row[1], float(row[2])))
    return answers


def collect(out: Path) -> dict[str, dict[str, list[dict]]]:
    """task -> model -> finished runs (one per seed); models in the order BERT, ALBERT, RoBERTa, others."""
    runs: dict[str, dict[str, list[dict]]] = {}
    found = [(read_json(path), path) for path in out.glob("*/*/seed*/run_done.json")]
    order = {"BERT": 0, "ALBERT": 1, "RoBERTa": 2}
    found.sort(key=lambda item: (order.get(family(item[0]["model"]), 3), item[0]["model"], item[0]["seed"]))
    for done, done_file in found:
        folder = done_file.parent
        run = {**done, "folder": folder, "test": read_json(folder / "test_results.json") or {},
               "train": read_json(folder / "train_results.json") or {},
               "entities": read_json(folder / "test_entities.json"), "answers": read_answers(folder / "answers.tsv")}
        runs.setdefault(done["task"], {}).setdefault(done["model"], []).append(run)
    for task_runs in runs.values():
        for model_runs in task_runs.values():
            check_seeds_share_settings(model_runs)
    return runs


# Arguments that may differ between the seeds of one model: the seed, and the split file the later seeds reuse (the
# first run of a task makes the split, the others read it: the same split).
SEED_ONLY = ("seed", "split_file")


def recipe(run: dict) -> dict | None:
    """A run's recorded settings less what differs between seeds (None: recorded before runs recorded settings)."""
    settings = run.get("settings")
    if not settings or "arguments" not in settings:
        return None
    return {"arguments": {k: v for k, v in settings["arguments"].items() if k not in SEED_ONLY},
            "data": {Path(k).name: v for k, v in settings.get("data_sha256", {}).items()
                     if Path(k).name != "split_ids.json"},
            "script": settings.get("script"), "smoke": settings.get("smoke")}


def check_seeds_share_settings(model_runs: list[dict]) -> None:
    """The seeds of a model are shown as one model's (mean ± std, one comparison group) only when they were made with
    the same settings; otherwise the report is refused, naming the first differences."""
    recorded = [(run, recipe(run)) for run in model_runs if recipe(run) is not None]
    for run, settings in recorded[1:]:
        first, first_settings = recorded[0]
        flat = [{**s["arguments"], **{f"{k} content": v for k, v in s["data"].items()}, "script": s["script"],
                 "smoke": s["smoke"]} for s in (first_settings, settings)]
        changed = [f"{key}: {flat[0].get(key)!r} (seed {first['seed']}) vs {flat[1].get(key)!r} (seed {run['seed']})"
                   for key in sorted(set(flat[0]) | set(flat[1])) if flat[0].get(key) != flat[1].get(key)]
        if changed:
            raise SystemExit(f"{first['folder']} and {run['folder']} are seeds of {first['model']} made with other "
                             f"settings ({'; '.join(changed[:5])}): their scores are not one model's spread. Redo "
                             "one with the other's settings (delete its folder and run the reproduction again), or "
                             "keep each set of settings in its own OUT folder.")


def mean_std(values: list[float], digits: int = 4) -> str:
    if not values:
        return "–"
    if len(values) == 1:
        return f"{values[0]:.{digits}f}"
    return f"{statistics.mean(values):.{digits}f} ± {statistics.stdev(values):.{digits}f}"


def seeds_note(runs: list[dict]) -> str:
    seeds = ", ".join(str(r["seed"]) for r in runs)
    return f"{len(runs)} seed{'s' if len(runs) > 1 else ''} ({seeds})"


def model_heading(model: str, runs: list[dict]) -> str:
    repos = sorted({r["hub_repo"] for r in runs if r.get("hub_repo")})
    links = "".join(f", pushed: [{repo}](https://huggingface.co/{repo})" for repo in repos)
    return f"### `{model}` ({family(model)}; {seeds_note(runs)}{links})"


def pushed_models(models: dict[str, list[dict]]) -> list[str]:
    """One list item per model pushed to the Hub, with its link(s)."""
    return [model_heading(model, runs).replace("### ", "- ") for model, runs in models.items()
            if any(r.get("hub_repo") for r in runs)]


def original_ner_row(original: dict, model: str, row: str) -> list | None:
    """[precision, recall, f1, support] of the original report's table for this model's family and row."""
    return original["models"].get(family(model), {}).get(row)


def ner_section(models: dict[str, list[dict]], original: dict) -> tuple[list[str], dict]:
    lines = ["| model | family | micro F1 (ours, test) | micro F1 (original report) | test entities | 95% CI (ours) |",
             "|---|---|---:|---:|---:|---|"]
    chart = {}
    for model, runs in models.items():
        f1 = [r["test"]["test_f1"] for r in runs if "test_f1" in r["test"]]
        support = runs[0]["entities"]["micro avg"]["support"] if runs[0]["entities"] else "–"
        theirs_row = original_ner_row(original, model, "micro avg")
        theirs = theirs_row[2] if theirs_row else None
        lines.append(f"| `{model}` | {family(model)} | {mean_std(f1)} | {theirs if theirs else '–'} | {support} | "
                     f"{intervals(runs, 'f1')} |")
        chart[model] = (f1, theirs)
    lines += ["", f"The original report's tables: {original['epochs']} epochs; scored on: {original['scored_on']}.", ""]
    for model, runs in models.items():
        lines += [model_heading(model, runs), "",
                  "| type | precision | recall | f1-score | support | original report (P / R / F1 / support) |",
                  "|---|---:|---:|---:|---:|---|"]
        rows = list(runs[0]["entities"] or {})
        for row in rows:
            values = [r["entities"][row] for r in runs if r["entities"] and row in r["entities"]]
            cells = [mean_std([v[k] for v in values]) for k in ("precision", "recall", "f1-score")]
            theirs_row = original_ner_row(original, model, row)
            theirs = (f"{theirs_row[0]:.4f} / {theirs_row[1]:.4f} / {theirs_row[2]:.4f} / {theirs_row[3]:,}"
                      if theirs_row else "–")
            lines.append(f"| {row} | {' | '.join(cells)} | {values[0]['support']} | {theirs} |")
        lines.append("")
    return lines, chart


def classify_section(models: dict[str, list[dict]], original: dict) -> tuple[list[str], dict]:
    lines = ["In the original report's format (test split; the positive class is named in each run's test report):",
             "", "```"]
    chart = {}
    for model, runs in models.items():
        cells = []
        for key, name in (("accuracy", "accuracy"), ("recall", "recall"), ("precision", "precision"),
                          ("f1", "F1-score")):
            cells.append(f"{name}: {mean_std([r['test'][f'test_{key}'] for r in runs if f'test_{key}' in r['test']])}")
        lines.append(f"{model}: {' '.join(cells)}")
    lines += ["```", "", "The original report's lines (after 2 epochs; the BERT and RoBERTa lines are identical to the "
              "last digit, so the BERT line is most likely a copy of RoBERTa's):", "", "```"]
    for name, numbers in original["models"].items():
        line = numbers["line"]
        lines.append(f"{name}: accuracy: {line['accuracy']:.4f} recall: {line['recall']:.4f} precision "
                     f"{line['precision']:.4f} F1-score {line['F1-score']:.4f}")
    lines += ["```", "", "| model | family | seeds | test accuracy (ours) | validation accuracy (original report) | "
              "95% CI (ours) |", "|---|---|---|---:|---:|---|"]
    for model, runs in models.items():
        accuracy = [r["test"]["test_accuracy"] for r in runs if "test_accuracy" in r["test"]]
        theirs = original["models"].get(family(model), {}).get("validation_accuracy")
        theirs = round(theirs / 100, 4) if theirs else None
        lines.append(f"| `{model}` | {family(model)} | {seeds_note(runs)} | {mean_std(accuracy)} | "
                     f"{f'{theirs:.4f}' if theirs else '–'} | {intervals(runs, 'accuracy')} |")
        chart[model] = (accuracy, theirs)
    lines += ["", *pushed_models(models)]
    return lines, chart


def qa_section(models: dict[str, list[dict]], original: dict) -> tuple[list[str], dict]:
    lines = ["| model | family | seeds | top-1 accuracy | top-3 accuracy | epochs to 80% test accuracy (original "
             "report) | top-1 95% CI (ours) |", "|---|---|---|---:|---:|---:|---|"]
    chart = {}
    for model, runs in models.items():
        top1 = [r["test"]["test_accuracy"] for r in runs if "test_accuracy" in r["test"]]
        top3 = [r["test"]["test_top3_accuracy"] for r in runs if "test_top3_accuracy" in r["test"]]
        epochs = original["epochs"].get(family(model))
        lines.append(f"| `{model}` | {family(model)} | {seeds_note(runs)} | {mean_std(top1)} | {mean_std(top3)} | "
                     f"{epochs if epochs else '–'} | {intervals(runs, 'accuracy')} |")
        chart[model] = (top1, 0.8 if epochs else None)  # the report trained each model until 80% test accuracy
    expected = original["answers"]["BERT"]  # the block the report calls correct (BERT's and RoBERTa's)
    lines += ["", f"The original report: {original['epochs_note']}; BERT's last log line "
              f"`{original['bert_last_log']}`.", "",
              "The original report's three questions, each model's top answer (first seed) and its score, and the "
              "original model of the same family's answer:", "",
              "| question | expected | " + " | ".join(f"`{m}`" for m in models) + " |",
              "|---|---|" + "---|" * len(models)]
    for index, question in enumerate(original["questions"]):
        cells = []
        for model, runs in models.items():
            theirs = original["answers"].get(family(model))
            note = f"; original {family(model)}: {theirs[index]}" if theirs else ""
            ranked = runs[0]["answers"].get(question)
            if not ranked:
                cells.append(f"(not answered){note}")
                continue
            answer, score = ranked[0]
            cells.append(f"{'✓' if answer == expected[index] else '✗'} {answer} ({score:.4f}){note}")
        lines.append(f"| {question} | {expected[index]} | " + " | ".join(cells) + " |")
    lines += ["", *pushed_models(models)]
    return lines, chart


SECTIONS = {"ner": ner_section, "classify": classify_section, "qa_label": qa_section}
CHART_METRIC = {"ner": "micro F1", "classify": "test accuracy", "qa_label": "top-1 accuracy"}


def build_report(out: Path, original_file: Path) -> Path:
    original = json.loads(original_file.read_text(encoding="utf-8"))
    runs = collect(out)
    if not runs:
        raise SystemExit(f"{out}: no finished runs (run_done.json) found. Run scripts/reproduce_report.sh first.")
    smoke = any(r.get("smoke") for models in runs.values() for task_runs in models.values() for r in task_runs)
    lines = ["# Reproduction of the BERT / ALBERT / RoBERTa report", ""]
    if smoke:
        lines += ["> **Smoke run**: tiny data subsets, 1 epoch (`--smoke`). It checks the path end to end; its "
                  "numbers say nothing about the models.", ""]
    lines += [f"Runs collected from `{out.name}/` by `scripts/build_report.py`. Original report: "
              f"{original['about']}", ""]
    facts = read_json(out / "facts.json")  # written by whoever ran the reproduction, e.g. bench/reproduction_smoke.py
    if facts:
        versions = ", ".join(f"{k} {v}" for k, v in facts.get("versions", {}).items())
        lines += [f"Made on {facts.get('date_utc')} UTC, commit {facts.get('git_commit')}, {facts.get('cpu')} "
                  f"({facts.get('cores')} cores), {facts.get('gpu') or 'no GPU'}; {versions}. "
                  f"Command: `{facts.get('command')}`.", ""]
    for task, title in TASKS.items():
        if task not in runs:
            continue
        section, chart = SECTIONS[task](runs[task], original[task])
        compared, computed = comparison(out, task, runs[task])
        lines += [f"## {title}", "", *section, "",
                  *comparison_section(compared, task, original[task]["conclusion"]),
                  *disagreement_page(out, task, runs[task], computed),
                  *leakage_section(task, runs[task]), *tuning_section(runs[task]), *cost_section(runs[task]),
                  f"![{task}]({task}.png)", ""]
        plot_model_comparison(chart, out / f"{task}.png", CHART_METRIC[task], title)
    lines += ["## What differs from the original report", "", differences(runs)]
    report = out / "REPORT.md"
    report.write_text("\n".join(lines), encoding="utf-8")
    print(f"wrote {report}")
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True, help="The OUT folder of scripts/reproduce_*.sh.")
    parser.add_argument("--original", type=Path, default=REPO / "scripts" / "original_report.json",
                        help="The original report's figures (JSON).")
    args = parser.parse_args()
    build_report(args.out, args.original)


if __name__ == "__main__":
    main()
