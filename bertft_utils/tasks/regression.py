"""Regression over texts (run_classify.py --do_regression, as Hugging Face's run_classification.py): one output, MSE
loss, and MSE/RMSE/MAE/Pearson/Spearman with their intervals. A sentence task whose gold is a number."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import numpy as np

from bertft_utils.data.readers import DataFormatError
from bertft_utils.errors import UsageError
from bertft_utils.evaluation.metrics import regression_scores
from bertft_utils.evaluation.prediction_files import write_regression_predictions, write_regression_report
from bertft_utils.evaluation.uncertainty import Bootstrap, interval_note
from bertft_utils.tasks.sequence import (
    LabeledTexts,
    SequenceHead,
    SequenceStored,
    SequenceTask,
)

SCORE_LABEL = "score"  # the one output's name in config.id2label
SHOWN = {"mse": "MSE", "rmse": "RMSE", "mae": "MAE", "pearson": "Pearson", "spearman": "Spearman"}


def gold_values(records: LabeledTexts) -> list[float]:
    """The label column read as numbers; a value that is not one is an error naming its file and line."""
    values = []
    for label, (path, line) in zip(records.labels, records.sources, strict=True):
        try:
            values.append(float(label))
        except ValueError:
            raise DataFormatError(f"{path}, line {line}: label {label!r} is not a number; --do_regression needs a "
                                  "number in every label cell.") from None
    return values


@dataclasses.dataclass
class RegressionTask(SequenceTask):
    """SequenceTask whose label column holds numbers: one output named SCORE_LABEL, problem_type 'regression'."""

    curve_metric = "eval_pearson"
    int8_recheck = "a regression's output is the number itself"

    def configure(self, config) -> SequenceStored:
        if config.num_labels > 1 and getattr(config, "problem_type", None) == "single_label_classification":
            raise UsageError("This checkpoint is a classifier (problem_type single_label_classification): "
                             "fine-tune it without --do_regression, or start from an encoder.")
        return super().configure(config)

    def read(self, path: str, split: str) -> LabeledTexts:
        records = super().read(path, split)
        if records.labels is not None:
            gold_values(records)  # every label a number, checked as the file is read
        return records

    def strata(self, records: LabeledTexts) -> None:
        return None  # numbers: a plain seeded shuffle

    def prepare_splits(self, splits, data_args, stored):
        return splits, {"train_counts": None, "pairs": any(r.pairs is not None for r in splits.values())}

    def gold_labels(self, records: LabeledTexts) -> list[str] | None:
        return None if records.labels is None else [SCORE_LABEL] * len(records)

    def label_order(self, stored: SequenceStored) -> None:
        return None

    def extend_model(self, model, label_list, model_args, training, new_head, stored, facts) -> SequenceHead:
        model.config.problem_type = "regression"  # MSE loss; pipeline returns the raw output
        return SequenceHead(None)

    def label_values(self, records: LabeledTexts, label_to_id) -> list[float] | None:
        return None if records.labels is None else gold_values(records)

    def trainer_hooks(self, tokenizer, data_args, label_list, validation, encoded_validation,
                      current_head: Callable[[], SequenceHead], facts: dict) -> dict:
        if getattr(data_args, "class_weights", None):
            raise UsageError("--class_weights weighs classes; a regression has none.")
        hooks = super().trainer_hooks(tokenizer, data_args, label_list, validation, encoded_validation,
                                      current_head, facts)

        def compute_metrics(prediction) -> dict:
            output = prediction.predictions[0] if isinstance(prediction.predictions, tuple) else \
                prediction.predictions
            gold = prediction.label_ids.reshape(-1)
            if encoded_validation is not None:  # windows: a text's outputs averaged
                output, gold = encoded_validation.per_text_with_gold(output, gold)
            scores = regression_scores(gold, np.asarray(output).reshape(-1))
            return {k: v for k, v in scores.items() if isinstance(v, float)}

        return {**hooks, "compute_metrics": compute_metrics}

    def decode(self, encoded, predictions, label_list, head) -> np.ndarray:
        """The predicted number per example (a long text's windows: their outputs averaged)."""
        return encoded.per_text(predictions).reshape(-1)

    def write_outputs(self, split, records: LabeledTexts, outputs: np.ndarray, label_list, output_dir, timing,
                      notes, head, facts, bootstrap: Bootstrap) -> dict:
        write_regression_predictions(records, outputs, output_dir)
        if records.labels is None:
            return {}
        metrics = regression_scores(np.array(gold_values(records)), outputs, bootstrap)
        metrics["runtime"] = timing.get("test_runtime")
        metrics["samples_per_second"] = timing.get("test_samples_per_second")
        write_regression_report(metrics, output_dir, [*interval_note(metrics, SHOWN), *notes])
        return metrics

    def headline_scores(self, records: LabeledTexts, outputs: np.ndarray, label_list, head, facts) -> dict:
        scores = regression_scores(np.array(gold_values(records)), outputs)
        return {name: scores[name] for name in SHOWN}
