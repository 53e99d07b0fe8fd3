"""report.html: where a model goes wrong, in the browser. One self-contained page (no network: data, styles, script and
the learning curve inside) built by a Jinja2 template from a run's own prediction files, so it can be rebuilt
afterwards; and one page for several runs that predicted the same test file, where they disagree first.

The page holds the data's texts: publishing.hub keeps it off the Hub unless --push_data_files.
"""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path

import numpy as np

from bertft_utils.data.tags import to_scoring_tag
from bertft_utils.errors import UsageError
from bertft_utils.evaluation.entity_errors import (
    COUNTS,
    ERROR_KINDS,
    entity_error_scores,
    error_kinds,
    sentence_entities,
)
from bertft_utils.evaluation.prediction_files import read_prediction_rows, read_tagged_predictions
from bertft_utils.files import announce

REPORT_FILE = "report.html"
COMPARISON_FILE = "comparison_report.html"
MATRIX_LIMIT = 25  # more labels than this: the confusions as a list of (gold, predicted) pairs, not a matrix
HEADLINE = ("accuracy", "f1", "precision", "recall", "macro_f1", "pearson", "spearman", "top5_accuracy")


def _template():
    import jinja2

    environment = jinja2.Environment(loader=jinja2.PackageLoader("bertft_utils.evaluation", "templates"),
                                     autoescape=True, trim_blocks=True, lstrip_blocks=True)
    return environment.get_template("report.html.j2")


def _script_json(payload) -> str:
    """JSON to embed in a <script type="application/json"> block ("<" escaped, so no text can close the block)."""
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).replace("<", "\\u003c")


def _image(path: Path) -> str | None:
    return "data:image/png;base64," + base64.b64encode(path.read_bytes()).decode() if path.is_file() else None


def _headline(folder: Path) -> list[tuple[str, str]]:
    """The test scores of test_results.json worth a first look, with their 95% intervals."""
    path = folder / "test_results.json"
    results = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    shown = []
    for name in HEADLINE:
        value = results.get(f"test_{name}")
        if isinstance(value, int | float):
            low, high = results.get(f"test_{name}_ci_low"), results.get(f"test_{name}_ci_high")
            shown.append((name.replace("_", " "), f"{value:.4f}" + (f" (95% CI {low:.4f}-{high:.4f})"
                                                                     if low is not None and high is not None else "")))
    return shown


def _tokens(tokens: list[str]) -> str | list[str]:
    """Characters as one string (smaller page), words as a list."""
    return "".join(tokens) if all(len(t) == 1 for t in tokens) else tokens


def _marked(spans, kinds) -> list[list]:
    return [[kind, start, end, what] for (kind, start, end), what in zip(spans, kinds, strict=True)]


def _scoring(sentences: list[list[str]]) -> list[list[str]]:
    """Tags as the scores read them (BMES `M-` as `I-`)."""
    return [[to_scoring_tag(tag) for tag in tags] for tags in sentences]


def _test_results(folder: Path) -> dict:
    path = folder / "test_results.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}


def ner_page(folder: Path) -> dict:
    """The page of an NER run: every sentence with gold and predicted entities and their error kinds, chunked as the
    run scored them (seqeval's default mode, or strict mode after --strict_scoring)."""
    results = _test_results(folder)
    strict_scheme = results.get("test_strict_scheme")
    tagged = read_tagged_predictions(folder / "predictions.txt", results.get("test_predictions_layout"))
    tagged.predicted = _scoring(tagged.predicted)
    if tagged.gold is not None:
        tagged.gold = _scoring(tagged.gold)
    items, types = [], set()
    predicted_spans = [sentence_entities(tags, strict_scheme) for tags in tagged.predicted]
    gold_spans = [sentence_entities(tags, strict_scheme) for tags in tagged.gold] if tagged.gold is not None else None
    for index, tokens in enumerate(tagged.tokens):
        predicted = predicted_spans[index]
        if gold_spans is None:
            gold, kinds_gold, kinds_predicted = None, [], ["" for _ in predicted]
        else:
            gold = gold_spans[index]
            kinds_gold, kinds_predicted = error_kinds(gold, predicted)
        kinds = sorted({k for k in (*kinds_gold, *kinds_predicted) if k and k != "correct"})
        present = {kind for kind, _, _ in (*(gold or []), *predicted)}
        types |= present
        items.append({"n": index + 1, "t": _tokens(tokens), "g": None if gold is None else _marked(gold, kinds_gold),
                      "p": _marked(predicted, kinds_predicted), "e": bool(kinds),
                      "f": [*(f"type:{t}" for t in sorted(present)), *(f"kind:{k}" for k in kinds),
                            *(["error"] if kinds else ["ok"])]})
    items.sort(key=lambda item: not item["e"])  # sentences with errors first, each group in file order
    page = {"kind": "ner", "unit": "sentences", "labelled": tagged.gold is not None, "types": sorted(types),
            "filters": _ner_filters(sorted(types), tagged.gold is not None), "items": items}
    if tagged.gold is not None:
        per_type, partial, errors = _entity_tables(folder, tagged, strict_scheme)
        page["per_type"] = [[name, f"{v['precision']:.4f}", f"{v['recall']:.4f}", f"{v['f1-score']:.4f}",
                             v["support"]] for name, v in per_type.items()]
        page["schemes"] = [[scheme, *(v[c] for c in COUNTS), f"{v['f1']:.4f}"] for scheme, v in partial.items()]
        page["errors"] = [[name, values["gold"], *(values[k] for k in ERROR_KINDS)] for name, values in errors.items()]
    return page


def _entity_tables(folder: Path, tagged, strict_scheme: str | None) -> tuple[dict, dict, dict]:
    """seqeval's per-type table, the partial-match schemes and the error table: those the run wrote with these
    predictions (test_entities.json, test_entity_errors.json, written after predictions.txt), else computed."""
    written = [folder / "test_entities.json", folder / "test_entity_errors.json"]
    predictions = folder / "predictions.txt"
    if all(path.is_file() and path.stat().st_mtime >= predictions.stat().st_mtime for path in written):
        errors = json.loads(written[1].read_text(encoding="utf-8"))
        return (json.loads(written[0].read_text(encoding="utf-8")), errors["partial_match"]["overall"],
                errors["errors_per_gold_type"])
    from bertft_utils.evaluation.metrics import entity_metrics

    scores = entity_error_scores(tagged.gold, tagged.predicted, strict_scheme)
    per_type = entity_metrics(tagged.gold, tagged.predicted, strict_scheme)["per_type"]
    return per_type, scores["partial_match"]["overall"], scores["entity_errors"]


def _filter(name: str, label: str, options) -> dict:
    """One drop-down of the page: the filter token each option requires of an item, and its shown name."""
    return {"name": name, "label": label, "options": [list(option) for option in options]}


def _type_filter(types) -> dict:
    return _filter("type", "entity type", ((f"type:{t}", t) for t in types))


def _label_filter(label: str, prefix: str, labels) -> dict:
    return _filter("label", label, ((f"{prefix}:{value}", value) for value in labels))


OUTCOME_FILTER = _filter("outcome", "outcome", (("error", "errors"), ("ok", "correct")))


def _ner_filters(types: list[str], labelled: bool) -> list[dict]:
    filters = [_type_filter(types)]
    if labelled:
        filters.append(_filter("kind", "error", [("error", "any error"), ("ok", "no error"),
                                                 *((f"kind:{k}", k.replace("_", " ")) for k in ERROR_KINDS
                                                   if k != "correct")]))
    return filters


def _probability(row: dict) -> float:
    try:
        return float(row.get("probability") or "nan")
    except ValueError:
        return float("nan")


def sequence_page(folder: Path) -> dict:
    """The page of a classification, QA, multi-label or regression run, from its predictions.tsv."""
    rows = read_prediction_rows(folder / "predictions.tsv")
    if not rows:
        raise UsageError(f"{folder / 'predictions.tsv'} holds no predictions: nothing to report.")
    columns = rows[0].keys()
    labelled = bool(rows[0].get("gold"))
    if "predicted_probabilities" in columns:
        return _multilabel_page(rows, labelled)
    if "probability" not in columns:
        return _regression_page(rows, labelled)
    top = sorted({int(c[3:].split("_")[0]) for c in columns if c.startswith("top") and c.endswith("_label")})
    items = []
    for index, row in enumerate(rows):
        correct = row["gold"] == row["predicted"] if labelled else None
        item = {"n": index + 1, "src": f"{row['file']}:{row['line']}", "x": row["text"], "x2": row.get("text_pair"),
                "g": row["gold"] if labelled else None, "p": row["predicted"], "pr": _probability(row),
                "ok": correct,
                "f": [f"gold:{row['gold']}", f"pred:{row['predicted']}", f"cell:{row['gold']}\u2192{row['predicted']}",
                      "ok" if correct else "error"]}
        if top and correct is False:
            item["top"] = [[row["predicted"], item["pr"]], *([row[f"top{k}_label"], float(row[f"top{k}_probability"])]
                                                             for k in top)]
        items.append(item)
    # the most confident errors first, then the correct ones, least confident first
    items.sort(key=lambda item: (item["ok"] is not False, -item["pr"] if item["ok"] is False else item["pr"]))
    labels = sorted({r["gold"] for r in rows} | {r["predicted"] for r in rows}) if labelled else sorted(
        {r["predicted"] for r in rows})
    page = {"kind": "classification", "unit": "examples", "labelled": labelled, "items": items,
            "filters": [_label_filter("gold label" if labelled else "predicted label",
                                      "gold" if labelled else "pred", labels),
                        *([OUTCOME_FILTER] if labelled else [])]}
    if labelled:
        page.update(_confusions([r["gold"] for r in rows], [r["predicted"] for r in rows], labels))
    return page


def _confusions(gold: list[str], predicted: list[str], labels: list[str]) -> dict:
    """Per-label precision/recall/F1 and the confusion matrix (or, for many labels, its off-diagonal cells as a
    list, largest first)."""
    from sklearn.metrics import confusion_matrix, precision_recall_fscore_support

    precision, recall, f1, support = precision_recall_fscore_support(gold, predicted, labels=labels, zero_division=0)
    matrix = confusion_matrix(gold, predicted, labels=labels)
    page = {"per_label": [[label, f"{p:.4f}", f"{r:.4f}", f"{f:.4f}", int(s)]
                          for label, p, r, f, s in zip(labels, precision, recall, f1, support, strict=True)]}
    if len(labels) <= MATRIX_LIMIT:
        page["matrix"] = {"labels": labels, "rows": matrix.tolist()}
    else:
        cells = [(int(matrix[i, j]), labels[i], labels[j]) for i, j in zip(*np.nonzero(matrix), strict=True)
                 if i != j]
        page["confusions"] = [[g, p, count] for count, g, p in sorted(cells, key=lambda c: (-c[0], c[1], c[2]))]
    return page


def _multilabel_page(rows: list[dict], labelled: bool) -> dict:
    items, gold_sets, predicted_sets = [], [], []
    for index, row in enumerate(rows):
        predicted = json.loads(row["predicted"])
        gold = json.loads(row["gold"]) if labelled else None
        wrong = sorted(set(gold) ^ set(predicted)) if labelled else []
        gold_sets.append(gold or []), predicted_sets.append(predicted)
        items.append({"n": index + 1, "src": f"{row['file']}:{row['line']}", "x": row["text"],
                      "x2": row.get("text_pair"), "g": gold, "p": predicted, "w": len(wrong),
                      "ok": not wrong if labelled else None,
                      "f": [*(f"gold:{label}" for label in gold or predicted), "error" if wrong else "ok"]})
    items.sort(key=lambda item: -item["w"])
    labels = sorted({label for labels in (*gold_sets, *predicted_sets) for label in labels})
    page = {"kind": "multilabel", "unit": "examples", "labelled": labelled, "items": items,
            "filters": [_label_filter("label", "gold", labels), *([OUTCOME_FILTER] if labelled else [])]}
    if labelled:
        from sklearn.metrics import precision_recall_fscore_support
        from sklearn.preprocessing import MultiLabelBinarizer

        binarizer = MultiLabelBinarizer(classes=labels)
        precision, recall, f1, support = precision_recall_fscore_support(
            binarizer.fit_transform(gold_sets), binarizer.transform(predicted_sets), zero_division=0)
        page["per_label"] = [[label, f"{p:.4f}", f"{r:.4f}", f"{f:.4f}", int(s)]
                             for label, p, r, f, s in zip(labels, precision, recall, f1, support, strict=True)]
    return page


def _regression_page(rows: list[dict], labelled: bool) -> dict:
    items = []
    for index, row in enumerate(rows):
        predicted = float(row["predicted"])
        gold = float(row["gold"]) if labelled else None
        items.append({"n": index + 1, "src": f"{row['file']}:{row['line']}", "x": row["text"],
                      "x2": row.get("text_pair"), "g": gold, "p": predicted,
                      "d": abs(predicted - gold) if labelled else 0.0, "f": []})
    items.sort(key=lambda item: -item["d"])  # the largest errors first
    return {"kind": "regression", "unit": "examples", "labelled": labelled, "items": items, "filters": []}


def has_test_predictions(folder: str | Path) -> bool:
    """Whether a run folder holds the test predictions a report is built from."""
    return any((Path(folder) / name).is_file() for name in ("predictions.tsv", "predictions.txt"))


def run_page(folder: str | Path) -> dict:
    """What report.html shows for one run folder (its test predictions)."""
    folder = Path(folder)
    if (folder / "predictions.tsv").is_file():
        page = sequence_page(folder)
    elif (folder / "predictions.txt").is_file():
        page = ner_page(folder)
    else:
        raise UsageError(f"{folder} holds no predictions.tsv or predictions.txt: give the --output_dir of a run "
                         "with --do_predict.")
    trained = (folder / "train_results.json").is_file()  # a predict-only run's curve is one evaluation
    page.update(title=f"{folder.name}: test predictions", headline=_headline(folder),
                curve=_image(folder / "learning_curve.png") if trained else None)
    return page


def _short_names(folders: list[Path]) -> list[str]:
    """Each folder's shortest path ending that tells it from the others (bert/seed42, albert/seed42, ...)."""
    parts = [folder.resolve().parts for folder in folders]
    for length in range(1, max(len(p) for p in parts) + 1):
        names = ["/".join(p[-length:]) for p in parts]
        if len(set(names)) == len(names):
            return names
    return [str(folder) for folder in folders]


def comparison_page(folders: list[str | Path]) -> dict:
    """Several runs that predicted the same test file (checked as compare checks them): each test item once with
    every run's prediction and whether it is right, the items where the runs disagree first."""
    from bertft_utils.evaluation.comparison import check_same_items, check_same_scoring, load_run

    folders = [Path(folder) for folder in folders]
    runs = [load_run(folder) for folder in folders]
    check_same_items(runs)
    check_same_scoring(runs)  # one chunking for every run: the first's
    names = _short_names(folders)
    first = runs[0]
    items = []
    if first.kind == "ner":
        for index, tokens in enumerate(first.items):  # load_run gives the tags as scored
            gold = sentence_entities(first.gold[index], first.scoring)
            per_run = [sentence_entities(run.predicted[index], first.scoring) for run in runs]
            marked = [_marked(spans, error_kinds(gold, spans)[1]) for spans in per_run]
            correct = [set(spans) == set(gold) for spans in per_run]
            disagree = len({tuple(spans) for spans in per_run}) > 1
            present = {kind for kind, _, _ in (*gold, *(s for spans in per_run for s in spans))}
            items.append({"n": index + 1, "t": _tokens(list(tokens)), "g": _marked(gold, ["" for _ in gold]),
                          "ps": marked, "oks": correct, "d": disagree,
                          "f": [*(f"type:{t}" for t in sorted(present)), "disagree" if disagree else "agree",
                                *(f"wrong:{i}" for i, ok in enumerate(correct) if not ok)]})
        types = sorted({f.removeprefix("type:") for item in items for f in item["f"] if f.startswith("type:")})
        unit, filters = "sentences", [_type_filter(types)]
    else:
        texts = {(r["file"], int(r["line"])): r for r in read_prediction_rows(folders[0] / "predictions.tsv")}
        for index, key in enumerate(first.items):
            predicted = [run.predicted[index] for run in runs]
            correct = [p == first.gold[index] for p in predicted]
            disagree = len(set(predicted)) > 1
            row = texts[key]
            items.append({"n": index + 1, "src": f"{key[0]}:{key[1]}", "x": row["text"], "x2": row.get("text_pair"),
                          "g": first.gold[index], "ps": predicted, "oks": correct, "d": disagree,
                          "f": [f"gold:{first.gold[index]}", "disagree" if disagree else "agree",
                                *(f"wrong:{i}" for i, ok in enumerate(correct) if not ok)]})
        labels = sorted(set(first.gold))
        unit, filters = "examples", [_label_filter("gold label", "gold", labels)]
    # disagreements first; among them, and among the rest, the items most runs got wrong first
    items.sort(key=lambda item: (not item["d"], sum(item["oks"]), item["n"]))
    filters += [_filter("agreement", "agreement", (("disagree", "runs disagree"), ("agree", "runs agree"))),
                _filter("wrong", "wrong in", ((f"wrong:{i}", name) for i, name in enumerate(names)))]
    accuracy = [[name, f"{np.mean([item['oks'][i] for item in items]):.4f}"] for i, name in enumerate(names)]
    return {"kind": f"{first.kind if first.kind == 'ner' else 'classification'}-comparison", "unit": unit,
            "labelled": True, "models": names, "items": items, "filters": filters,
            "title": f"{len(runs)} runs on one test file", "model_accuracy": accuracy,
            "disagreements": sum(item["d"] for item in items), "headline": [], "curve": None}


def render(page: dict) -> str:
    """The page as self-contained HTML."""
    shown = ("kind", "unit", "items", "labelled", "types", "models")  # what the page's script reads
    return _template().render(page=page, data=_script_json({k: page[k] for k in shown if k in page}))


def write_run_report(folder: str | Path, path: str | Path | None = None) -> str:
    """report.html in a run folder (or at `path`), from its test predictions."""
    path = Path(path or Path(folder) / REPORT_FILE)
    path.write_text(render(run_page(folder)), encoding="utf-8")
    return announce(str(path))


def write_comparison_report(folders: list[str | Path], path: str | Path | None = None) -> str:
    """One page for several runs; by default comparison_report.html in the folder above them all."""
    if path is None:
        path = Path(os.path.commonpath([os.path.abspath(f) for f in folders])) / COMPARISON_FILE
    Path(path).write_text(render(comparison_page(folders)), encoding="utf-8")
    return announce(str(path))



def main(argv: list[str] | None = None) -> int:
    """`python -m bertft_utils.report_html RUN_DIR [RUN_DIR ...]`."""
    import argparse

    parser = argparse.ArgumentParser(
        prog="python -m bertft_utils.report_html",
        description="Write report.html (one run folder: every test item, errors first) or one page for several runs "
                    "that predicted the same test file (where they disagree first). The page holds the test data's "
                    "texts: share it as you would the data.")
    parser.add_argument("runs", nargs="+", help="Output folders of runs with --do_predict.")
    parser.add_argument("--output", help="Where to write the page (default: RUN_DIR/report.html for one run; for "
                        "several, comparison_report.html in the folder that holds them all).")
    args = parser.parse_args(argv)
    if len(args.runs) == 1:
        path = write_run_report(args.runs[0], args.output)
    else:
        path = write_comparison_report(args.runs, args.output)
    print(f"wrote {path}")
    return 0
