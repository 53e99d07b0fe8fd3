"""Multi-label classification over texts (run_classify.py with list labels, as Hugging Face's run_classification.py):
each record holds any number of labels; one sigmoid output per label trained with binary cross-entropy, a threshold
per label tuned on validation and stored with the model, and subset accuracy, Hamming loss and micro/macro/weighted
F1 with their intervals."""

from __future__ import annotations

import dataclasses
import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy.special import expit

from bertft_utils.data.labels import name_labels, parse_label_set
from bertft_utils.errors import UsageError
from bertft_utils.evaluation.metrics import multilabel_scores
from bertft_utils.evaluation.prediction_files import write_multilabel_predictions, write_multilabel_report
from bertft_utils.evaluation.thresholds import (
    DEFAULT_THRESHOLD,
    apply_thresholds,
    cross_fitted_predictions,
    tune_thresholds,
)
from bertft_utils.evaluation.uncertainty import Bootstrap, interval_note
from bertft_utils.tasks.sequence import LabeledTexts, SequenceStored, SequenceTask, data_collator
from bertft_utils.training.losses import label_pos_weights, weighted_binary_cross_entropy

logger = logging.getLogger(__name__)

PROBLEM_TYPE = "multi_label_classification"  # transformers' name: BCE loss, sigmoid in pipeline
THRESHOLDS_KEY = "bertft_multilabel_thresholds"  # {label: threshold} stored in the model config
DELIMITER_KEY = "bertft_label_delimiter"  # --label_delimiter stored in the model config
SHOWN = {"subset_accuracy": "subset accuracy", "f1": "micro F1", "macro_f1": "macro F1",
         "hamming_loss": "Hamming loss"}


@dataclass(frozen=True)
class MultiLabelHead:
    """How the sigmoid outputs are read: each label's threshold, stored in the model config (`config`) so that a
    saved model predicts as this run did; `fixed` (--multilabel_threshold) holds every label at one value."""

    config: object
    fixed: float | None
    tuned_here: bool = True  # this run tunes the thresholds (it trains); else the model's stored ones are applied

    def thresholds(self, label_list: list[str]) -> np.ndarray:
        if self.fixed is not None:
            return np.full(len(label_list), self.fixed)
        stored = getattr(self.config, THRESHOLDS_KEY, None) or {}
        return np.array([float(stored.get(label, DEFAULT_THRESHOLD)) for label in label_list])

    def store(self, label_list: list[str], thresholds: np.ndarray) -> None:
        setattr(self.config, THRESHOLDS_KEY, {label: float(t) for label, t in zip(label_list, thresholds,
                                                                                   strict=True)})


def is_multilabel_config(config) -> bool:
    """Whether a checkpoint was fine-tuned multi-label."""
    return getattr(config, "problem_type", None) == PROBLEM_TYPE


def label_matrix(labels: list[list[str]], label_list: list[str]) -> tuple[np.ndarray, list[str]]:
    """0/1 matrix records x labels, with a column more for each gold label not in `label_list` (unseen in training:
    never predicted, so an error wherever it occurs); returns it and the names of all columns."""
    unseen = sorted({label for record in labels for label in record} - set(label_list))
    names = [*label_list, *unseen]
    column = {label: i for i, label in enumerate(names)}
    matrix = np.zeros((len(labels), len(names)), dtype=np.int64)
    for row, record in enumerate(labels):
        matrix[row, [column[label] for label in record]] = 1
    return matrix, names


def scores(labels: list[list[str]], probabilities: np.ndarray, thresholds: np.ndarray, label_list: list[str],
           bootstrap: Bootstrap | None = None) -> dict:
    """multilabel_scores of the labels predicted at `thresholds` against the gold `labels`."""
    gold, names = label_matrix(labels, label_list)
    predicted = np.zeros_like(gold)
    predicted[:, :len(label_list)] = apply_thresholds(probabilities, thresholds)
    return multilabel_scores(gold, predicted, names, bootstrap)


@dataclass
class MultiLabelTask(SequenceTask):
    """SequenceTask whose label cells hold several labels (a JSON list, or split by --label_delimiter)."""

    label_delimiter: str | None = None
    fixed_threshold: float | None = None  # --multilabel_threshold: no tuning

    curve_metric = "eval_f1"
    int8_recheck = "a multi-label output is each label's probability against its threshold"

    def configure(self, config) -> SequenceStored:
        if self.positive_label:
            raise UsageError("--positive_label names the positive class of a two-class task; a multi-label task "
                             "scores every label.")
        if self.label_delimiter is not None:
            setattr(config, DELIMITER_KEY, self.label_delimiter)
        return super().configure(config)

    def input_note(self, stored: SequenceStored) -> str:
        note = ("Multi-label: call `pipeline(..., top_k=None)` for every label's probability and keep each label "
                f"whose score reaches its threshold in `config.{THRESHOLDS_KEY}` (tuned on the validation data).")
        return " ".join(part for part in (stored.input_note, note) if part)

    def label_parser(self) -> Callable[[object, tuple[str, int]], list[str]]:
        return lambda cell, source: parse_label_set(cell, self.label_delimiter, source)

    def strata(self, records: LabeledTexts) -> None:
        return None  # label sets: a plain seeded shuffle

    def prepare_splits(self, splits, data_args, stored):
        if stored.label_names:
            splits = {name: records if records.labels is None else dataclasses.replace(records, labels=[
                name_labels(labels, [source] * len(labels), stored.label_names)
                for labels, source in zip(records.labels, records.sources, strict=True)])
                for name, records in splits.items()}
        train = splits.get("train")
        return splits, {"train_counts": Counter(label for labels in train.labels for label in labels)
                        if train is not None else None, "train_records": len(train) if train is not None else 0,
                        "pairs": any(records.pairs is not None for records in splits.values())}

    def gold_labels(self, records: LabeledTexts) -> list[str] | None:
        return None if records.labels is None else [label for labels in records.labels for label in labels]

    def extend_model(self, model, label_list, model_args, training, new_head, stored, facts) -> MultiLabelHead:
        model.config.problem_type = PROBLEM_TYPE  # BCE loss; pipeline applies a sigmoid
        head = MultiLabelHead(model.config, self.fixed_threshold, tuned_here=training)
        if training:  # thresholds of an earlier fine-tuning do not hold for this one
            head.store(label_list, np.full(len(label_list), DEFAULT_THRESHOLD if self.fixed_threshold is None
                                           else self.fixed_threshold))
        return head

    def bind_model(self, model, head: MultiLabelHead) -> MultiLabelHead:
        return MultiLabelHead(model.config, head.fixed, head.tuned_here)

    def label_values(self, records: LabeledTexts, label_to_id: dict[str, int]) -> list | None:
        """0/1 per label (floats, for the binary cross-entropy); a label unseen in training has no output."""
        if records.labels is None:
            return None
        values = []
        for labels in records.labels:
            row = [0.0] * len(label_to_id)
            for label in labels:
                if label in label_to_id:
                    row[label_to_id[label]] = 1.0
            values.append(row)
        return values

    def trainer_hooks(self, tokenizer, data_args, label_list, validation, encoded_validation,
                      current_head: Callable[[], MultiLabelHead], facts: dict) -> dict:
        def compute_metrics(prediction) -> dict:
            logits = prediction.predictions[0] if isinstance(prediction.predictions, tuple) else \
                prediction.predictions
            gold = prediction.label_ids
            if encoded_validation is not None:
                logits, gold = encoded_validation.per_text_with_gold(logits, gold)
            probabilities = expit(logits)
            head = current_head()
            gold = np.asarray(gold)
            gold_labels = [[label_list[i] for i in np.flatnonzero(row > 0.5)] for row in gold]
            if head.fixed is None and head.tuned_here:
                # every evaluation of a training run tunes the thresholds of the model as it is now (stored with
                # it); its scores, which choose the best checkpoint and rank search trials, are cross-fitted:
                # each record predicted at thresholds tuned on the others
                head.store(label_list, tune_thresholds(gold, probabilities))
                predicted = cross_fitted_predictions(gold > 0.5, probabilities)
                metrics = scores(gold_labels, predicted.astype(float), np.full(len(label_list), 0.5), label_list)
                metrics["thresholds_cross_fitted"] = 1.0
            else:  # the thresholds stored with the model (or --multilabel_threshold), as they will be applied
                metrics = scores(gold_labels, probabilities, head.thresholds(label_list), label_list)
            return {k: v for k, v in metrics.items() if isinstance(v, float)}

        hooks = {"data_collator": data_collator(tokenizer, data_args.pad_to_max_length),
                 "compute_metrics": compute_metrics}
        if getattr(data_args, "class_weights", None) and facts["train_counts"]:
            weights = label_pos_weights(data_args.class_weights, label_list, facts["train_counts"],
                                        facts["train_records"])
            facts["class_weights"] = weights  # written to data_report.json
            hooks["compute_loss_func"] = weighted_binary_cross_entropy([weights[label] for label in label_list])
        return hooks

    def decode(self, encoded, predictions, label_list, head) -> np.ndarray:
        """Each label's probability per example (a long text's windows: their logits averaged)."""
        return expit(encoded.per_text(predictions))

    def write_outputs(self, split, records: LabeledTexts, outputs: np.ndarray, label_list, output_dir, timing,
                      notes, head: MultiLabelHead, facts, bootstrap: Bootstrap) -> dict:
        thresholds = head.thresholds(label_list)
        write_multilabel_predictions(records, outputs, thresholds, label_list, output_dir)
        if records.labels is None:
            logger.info("The test file has no labels: wrote predictions only.")
            return {}
        metrics = scores(records.labels, outputs, thresholds, label_list, bootstrap)
        metrics["runtime"] = timing.get("test_runtime")
        metrics["samples_per_second"] = timing.get("test_samples_per_second")
        how = ("--multilabel_threshold" if head.fixed is not None else
               "tuned on the validation data by this run and stored with the model; its validation scores are "
               "cross-fitted, each record at thresholds tuned on the others" if head.tuned_here else
               "those stored with the model, tuned on its validation data when it was trained")
        write_multilabel_report(metrics, dict(zip(label_list, map(float, thresholds), strict=True)), output_dir,
                                [*interval_note(metrics, SHOWN), f"Thresholds per label in thresholds.json ({how}).",
                                 *notes])
        return metrics

    def headline_scores(self, records: LabeledTexts, outputs: np.ndarray, label_list, head: MultiLabelHead,
                        facts) -> dict:
        metrics = scores(records.labels, outputs, head.thresholds(label_list), label_list)
        return {name: metrics[name] for name in ("accuracy", "subset_accuracy", "hamming_loss", "precision",
                                                 "recall", "f1", "macro_f1")}
