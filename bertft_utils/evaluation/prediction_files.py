"""Files a run writes about its predictions: predicted tags or labels beside the input, and the test reports of
scores computed in evaluation.metrics (entity report per type; classification report, confusion matrix as JSON and
PNG). Main process only."""

from __future__ import annotations

import csv
import dataclasses
import json
import os

import numpy as np

from bertft_utils.data.readers import TokenFile
from bertft_utils.data.readers.spans import SPAN_FORMAT, spans_from_tags
from bertft_utils.errors import UsageError
from bertft_utils.evaluation.plots import plot_confusion_matrix
from bertft_utils.evaluation.reports import format_classification_report
from bertft_utils.files import announce, write_json, write_text


def write_tagged_predictions(token_file: TokenFile, predictions: list[list[str]], path: str,
                             append: bool = False) -> str:
    """The input with a predicted-tag column added (`append`: after what `path` holds, unannounced: a large raw
    text written piece by piece).

    A whole CoNLL file: line for line (sentence breaks and -DOCSTART- kept). Part of one (a split, or
    --max_predict_samples) or raw text: `token<TAB>[gold<TAB>]predicted` per line, blank line between sentences.
    JSON lines/csv input: one JSON object per input record with `predicted_tags` added.
    """
    by_line = {line: tag for s, tags in zip(token_file.sentences, predictions, strict=True)
               for line, tag in zip(s.lines, tags, strict=True)}
    with open(path, "a" if append else "w", encoding="utf-8") as handle:
        if token_file.format == "conll" and len(by_line) == token_file.token_lines:
            # gold tags read as ids (--tag_names) get their name written before the prediction: the reader of
            # predictions.txt takes the last two columns for gold and predicted
            gold_by_line = {line: tag for s in token_file.sentences if s.tags is not None
                            for line, tag in zip(s.lines, s.tags, strict=True)}
            for number, raw in enumerate(token_file.raw_lines(), start=1):
                separator = "\t" if "\t" in raw else " "
                if number not in by_line:
                    handle.write(raw + "\n")
                    continue
                gold = gold_by_line.get(number)
                named = "" if gold is None or raw.split("\t" if separator == "\t" else None)[-1].strip() == gold \
                    else f"{separator}{gold}"
                handle.write(f"{raw}{named}{separator}{by_line[number]}\n")
        elif token_file.format in ("conll", "text"):
            for sentence, tags in zip(token_file.sentences, predictions, strict=True):
                gold = sentence.tags or [None] * len(tags)
                for token, gold_tag, tag in zip(sentence.tokens, gold, tags, strict=True):
                    handle.write("\t".join([token, *([gold_tag] if gold_tag else []), tag]) + "\n")
                handle.write("\n")
        else:
            for sentence, tags in zip(token_file.sentences, predictions, strict=True):
                record = {"line": sentence.lines[0], "tokens": sentence.tokens, "predicted_tags": tags}
                if sentence.tags is not None:
                    record["tags"] = sentence.tags
                handle.write(json.dumps(record, ensure_ascii=False) + "\n")
    return path if append else announce(path)


@dataclasses.dataclass
class TaggedPredictions:
    """The sentences of a predictions.txt: tokens, gold tags (None for unlabelled input) and predicted tags."""

    tokens: list[list[str]]
    gold: list[list[str]] | None
    predicted: list[list[str]]


def tagged_predictions_layout(token_file: TokenFile) -> str:
    """How write_tagged_predictions lays out this input's predictions: "json" records or "conll" lines."""
    return "conll" if token_file.format in ("conll", "text") else "json"


def _is_prediction_record(line: str) -> bool:
    try:
        record = json.loads(line)
    except ValueError:
        return False
    return isinstance(record, dict) and "tokens" in record and "predicted_tags" in record


def read_tagged_predictions(path: str | os.PathLike, layout: str | None = None) -> TaggedPredictions:
    """A predictions.txt as write_tagged_predictions writes it, in its `layout` (the run records it in
    test_results.json; None: JSON records when the file's first line is one, else CoNLL lines). "conll": token,
    other columns, gold tag, predicted tag (or token and predicted tag for unlabelled input; blank line or
    -DOCSTART- between sentences), whatever a token looks like (`{`, `[`, `#`); "json": one record a line
    (`tokens`, `tags`, `predicted_tags`)."""
    tokens: list[list[str]] = []
    gold: list[list[str]] = []
    predicted: list[list[str]] = []
    labelled: set[bool] = set()
    current: tuple[list, list, list] = ([], [], [])

    def close() -> None:
        if current[0]:
            tokens.append(current[0]), gold.append(current[1]), predicted.append(current[2])

    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if layout is None and line.strip():
                layout = "json" if _is_prediction_record(line) else "conll"
            if layout == "json":
                if not line.strip():
                    continue
                try:
                    record = json.loads(line)
                    tokens.append(record["tokens"]), predicted.append(record["predicted_tags"])
                except (ValueError, KeyError, TypeError) as error:
                    raise UsageError(f"{path}, line {number}: not a prediction record ({error}); expected JSON with "
                                     "`tokens` and `predicted_tags` as run_ner.py writes it.") from None
                gold.append(record.get("tags")), labelled.add("tags" in record)
                continue
            # tab-separated lines keep tokens that are whitespace (a space, U+00A0) as they were written
            fields = line.rstrip("\r\n").split("\t") if "\t" in line else line.split()
            if not fields or fields[0] == "-DOCSTART-":
                close()
                current = ([], [], [])
                continue
            if len(fields) < 2:
                raise UsageError(f"{path}, line {number}: expected a token and its predicted tag (a labelled file: "
                                 "the gold tag before it); give a predictions.txt that run_ner.py wrote.")
            if labelled and (len(fields) >= 3) not in labelled:
                raise UsageError(f"{path}, line {number}: {len(fields)} columns where the lines before had "
                                 f"{'two' if len(fields) >= 3 else 'three or more'}: expected, on every line, a token, "
                                 "its gold tag and the predicted tag (or, for unlabelled input, a token and the "
                                 "predicted tag); give a predictions.txt that run_ner.py wrote.")
            labelled.add(len(fields) >= 3)
            current[0].append(fields[0]), current[1].append(fields[-2]), current[2].append(fields[-1])
    close()
    if len(labelled) > 1:
        raise UsageError(f"{path}: some sentences have gold tags and some do not; give a predictions.txt that "
                         "run_ner.py wrote.")
    return TaggedPredictions(tokens, gold if labelled == {True} else None, predicted)


def read_prediction_rows(path: str | os.PathLike) -> list[dict[str, str]]:
    """The rows of a predictions.tsv (classification, multi-label, regression, QA), as dicts by column name."""
    with open(path, encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle, delimiter="\t"))


def write_span_predictions(token_file: TokenFile, predictions: list[list[str]], path: str,
                           append: bool = False) -> str:
    """CLUENER's prediction form: one JSON object per sentence, its `id` (the input record's, else its position
    among the file's records, 0-based, also for a split or a subset of the file), its
    text (`text` for character input read from span JSON, else `tokens`) and `label`: {type: {mention: [[start,
    end], ...]}}, end inclusive, in token positions. `append`: as write_tagged_predictions."""
    with open(path, "a" if append else "w", encoding="utf-8") as handle:
        for index, (sentence, tags) in enumerate(zip(token_file.sentences, predictions, strict=True)):
            given = token_file.ids[index] if token_file.ids else None
            text = {"text": "".join(sentence.tokens)} if token_file.format == SPAN_FORMAT else {
                "tokens": sentence.tokens}
            record = {"id": token_file.position(index) if given is None else given, **text,
                      "label": spans_from_tags(sentence.tokens, tags)}
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")
    return path if append else announce(path)


def write_entity_report(metrics: dict, output_dir: str, prefix: str) -> None:
    """`<prefix>_entity_report.txt` (precision recall f1-score support per type, then the partial-match schemes and
    the error table), `<prefix>_entities.json` and `<prefix>_entity_errors.json` (nervaluate's schemes overall and
    per type, the error kinds per gold type)."""
    with open(os.path.join(output_dir, f"{prefix}_entity_report.txt"), "w", encoding="utf-8") as handle:
        handle.write(metrics["report_text"])
    announce(os.path.join(output_dir, f"{prefix}_entity_report.txt"))
    with open(os.path.join(output_dir, f"{prefix}_entities.json"), "w", encoding="utf-8") as handle:
        json.dump(metrics["per_type"], handle, indent=2, ensure_ascii=False)
    announce(os.path.join(output_dir, f"{prefix}_entities.json"))
    if "partial_match" in metrics:
        write_json(os.path.join(output_dir, f"{prefix}_entity_errors.json"),
                   {"partial_match": metrics["partial_match"], "errors_per_gold_type": metrics["entity_errors"]})


def _write_prediction_rows(split, header: list[str], cells, output_dir: str) -> str:
    """predictions.tsv: per record its file, line, text as read (a question, not its prompt; a pair's second text in
    `text_pair`) and gold, then the columns `header` names, filled by `cells(row)`."""
    path = os.path.join(output_dir, "predictions.tsv")
    pairs = getattr(split, "pairs", None)
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, delimiter="\t", lineterminator="\n")
        writer.writerow(["file", "line", "text", *(["text_pair"] if pairs is not None else []), "gold", *header])
        for row, text in enumerate(split.texts):
            source_file, line = split.sources[row]
            gold = split.labels[row] if split.labels is not None else ""
            writer.writerow([os.path.basename(source_file), line, text, *([pairs[row]] if pairs is not None else []),
                             gold, *cells(row)])
    return announce(path)


def write_classification_predictions(split, probabilities: np.ndarray, label_list: list[str], output_dir: str,
                                     top_k: tuple[int, ...] = ()) -> str:
    """predictions.tsv: each record, the predicted label and its probability, and the next `max(top_k) - 1` labels
    with theirs."""
    k_out = max([1, *top_k])
    order = np.argsort(-probabilities, axis=-1, kind="stable")[:, :k_out]  # first: argmax, ties to the first
    header = ["predicted", "probability", *[f"top{r + 1}_{kind}" for r in range(1, k_out)
                                            for kind in ("label", "probability")]]
    return _write_prediction_rows(split, header, lambda row: [
        cell for rank in range(k_out) for cell in (label_list[order[row, rank]],
                                                   f"{probabilities[row, order[row, rank]]:.6f}")], output_dir)


def write_multilabel_predictions(split, probabilities: np.ndarray, thresholds: np.ndarray, label_list: list[str],
                                 output_dir: str) -> str:
    """predictions.tsv of a multi-label classifier: the gold labels and the predicted ones as JSON lists, each
    predicted label with its probability (`predicted_probabilities`) and every label's probability, highest first
    (`probabilities`)."""

    def cells(row: int) -> list[str]:
        order = np.argsort(-probabilities[row], kind="stable")
        chosen = [i for i in order if probabilities[row, i] >= thresholds[i]]
        return [json.dumps([label_list[i] for i in chosen], ensure_ascii=False),
                json.dumps({label_list[i]: round(float(probabilities[row, i]), 6) for i in chosen}, ensure_ascii=False),
                json.dumps({label_list[i]: round(float(probabilities[row, i]), 6) for i in order}, ensure_ascii=False)]

    listed = split if split.labels is None else dataclasses.replace(
        split, labels=[json.dumps(labels, ensure_ascii=False) for labels in split.labels])
    return _write_prediction_rows(listed, ["predicted", "predicted_probabilities", "probabilities"], cells,
                                  output_dir)


def write_multilabel_report(metrics: dict, thresholds: dict[str, float], output_dir: str,
                            notes: list[str] = ()) -> None:
    """test_report.txt of a multi-label classifier (the summary lines, `notes`, the per-label table) and
    thresholds.json (the threshold each label was predicted with)."""
    lines = [f"subset accuracy: {metrics['subset_accuracy']:.4f} Hamming loss: {metrics['hamming_loss']:.4f} "
             f"micro precision: {metrics['precision']:.4f} micro recall: {metrics['recall']:.4f} "
             f"micro F1: {metrics['f1']:.4f} macro F1: {metrics['macro_f1']:.4f} weighted F1: "
             f"{metrics['weighted_f1']:.4f}",
             f"(labels per record: {metrics['label_cardinality']:.3f} gold, "
             f"{metrics['predicted_label_cardinality']:.3f} predicted; macro F1 over the "
             f"{metrics['macro_labels']} labels present in the gold or the predictions)",
             *notes, "", metrics["report_table"]]
    write_text(os.path.join(output_dir, "test_report.txt"), "\n".join(lines) + "\n")
    write_json(os.path.join(output_dir, "thresholds.json"), thresholds)


def write_regression_predictions(split, predicted: np.ndarray, output_dir: str) -> str:
    """predictions.tsv for a regression: each record and the predicted number."""
    return _write_prediction_rows(split, ["predicted"], lambda row: [f"{predicted[row]:.10g}"], output_dir)


def write_regression_report(metrics: dict, output_dir: str, notes: list[str] = ()) -> None:
    """test_report.txt: the regression scores, then `notes` (intervals, records also in training)."""
    summary = " ".join(f"{name}: {metrics[name]:.4f}" for name in ("mse", "rmse", "mae", "pearson", "spearman"))
    write_text(os.path.join(output_dir, "test_report.txt"), "\n".join([summary, *notes]) + "\n")


def write_classification_report(metrics: dict, label_list: list[str], output_dir: str, notes: list[str] = ()) -> None:
    """test_report.txt (the summary line, `notes`, the per-label table), confusion_matrix.json and .png."""
    write_text(os.path.join(output_dir, "test_report.txt"),
               format_classification_report(metrics, metrics["report_table"], notes))
    write_json(os.path.join(output_dir, "confusion_matrix.json"),
               {"labels": label_list, "rows": "gold", "columns": "predicted", "matrix": metrics["confusion_matrix"]})
    plot_confusion_matrix(metrics["confusion_matrix"], label_list, os.path.join(output_dir, "confusion_matrix.png"),
                          "test confusion matrix")
