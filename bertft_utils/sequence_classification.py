"""What every sequence-level task shares: labelled texts per split, encoding, prediction and the test report."""

from __future__ import annotations

import csv
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from datasets import Dataset
from sklearn.metrics import classification_report
from transformers import (
    AutoModelForSequenceClassification,
    DataCollatorWithPadding,
    PreTrainedTokenizerBase,
    default_data_collator,
)

from .arguments import EMBEDDED_MODEL_ALIAS
from .labels import label_to_str, name_labels, named_label_order, resolve_label_list, resolve_label_names
from .metrics import classification_metrics, scalar_metrics, softmax, top_k_accuracy
from .mlm_warmup import warm_up_encoder
from .model_card import ModelCardFacts, guess_language
from .modeling import load_config, load_model, load_tokenizer
from .readers import Table
from .reporting import announce, format_classification_report, plot_confusion_matrix, write_json, write_text
from .splits import sample_indices, split_train_file
from .training import (
    BertftTrainer,
    evaluate_and_save,
    finetuned_from,
    finish,
    held_out_splits_needed,
    predict_in_order,
    require_splits,
    resume_point,
    save_split_metrics,
    train_and_save,
)
from .vocabulary import prepare_vocabulary

logger = logging.getLogger(__name__)


@dataclass
class LabeledTexts:
    """Texts of one split with their gold labels (None when the file has none) and source file/line."""

    texts: list[str] = field(default_factory=list)
    labels: list[str] | None = None
    sources: list[tuple[str, int]] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.texts)

    def sample(self, n: int | None, seed: int) -> LabeledTexts:
        """A seeded random subset of n records (stratified by label), in file order: --max_*_samples."""
        if n is None or n >= len(self):
            return self
        keep = sample_indices(len(self), n, seed, self.labels)
        return LabeledTexts([self.texts[i] for i in keep], None if self.labels is None else
                            [self.labels[i] for i in keep], [self.sources[i] for i in keep])


def table_to_labeled_texts(table: Table, text_column: str, label_column: str, require_labels: bool,
                           indices: list[int] | None = None, flags: str = "--text_column_name/--label_column_name"
                           ) -> LabeledTexts:
    """Pick the text and label columns (by name; several text columns comma-separated are joined with a space) out
    of a Table, optionally only some rows."""
    has_labels = any(label_column in row for row in table.rows)
    text_columns = [c.strip() for c in text_column.split(",")] if text_column not in table.columns() else [text_column]
    if require_labels or not has_labels:
        table.require_columns(*text_columns, *([label_column] if require_labels else []), flags=flags)
    columns = [[str(t) for t in table.column(name)] for name in text_columns]
    texts = [" ".join(parts) for parts in zip(*columns, strict=True)]
    labels = [label_to_str(v) for v in table.column(label_column)] if has_labels else None
    sources = [(table.path, line) for line in table.line_numbers]
    if indices is not None:
        texts = [texts[i] for i in indices]
        labels = None if labels is None else [labels[i] for i in indices]
        sources = [sources[i] for i in indices]
    return LabeledTexts(texts, labels, sources)


def load_labeled_splits(data_args, task: SequenceTask, output_dir: str, is_main_process: bool,
                        label_names: dict[str, str] | None = None,
                        needed: tuple[bool, bool] = (True, True)) -> dict[str, LabeledTexts]:
    """train/validation/test LabeledTexts from the data files, splitting --train_file when a file is missing.

    A test file without the label column is accepted (prediction only). With `label_names`, raw label values are
    replaced by their names after the split, which is made on the raw values: naming labels never changes a split.
    """
    splits: dict[str, LabeledTexts] = {}
    label_column, flags = task.label_column, task.column_flags

    def read(path: str) -> tuple[Table, str]:
        table = task.read(path)
        text_column = task.text_column
        if task.text_fallbacks:
            text_column = table.pick_column(text_column, text_column, task.text_fallbacks, flags.split("/")[0])
        return table, text_column

    if data_args.train_file:
        table, text_column = read(data_args.train_file)
        table.require_columns(*[c.strip() for c in text_column.split(",")], label_column, flags=flags)
        labels = [label_to_str(v) for v in table.column(label_column)]
        indices = split_train_file(data_args, labels, output_dir, write=is_main_process, needed=needed)
        if label_names:
            name_labels(table, label_column, label_names)
        for name, ids in indices.items():
            if ids:
                splits[name] = table_to_labeled_texts(table, text_column, label_column, True, ids, flags)
        logger.info("Split of %s: %s (written to %s).", data_args.train_file,
                    {k: len(v) for k, v in indices.items()}, output_dir)
    for name, path, required in (("validation", data_args.validation_file, True),
                                 ("test", data_args.test_file, False)):
        if path:
            table, text_column = read(path)
            if label_names:
                name_labels(table, label_column, label_names)
            splits[name] = table_to_labeled_texts(table, text_column, label_column, required, flags=flags)
    limits = {"train": data_args.max_train_samples, "validation": data_args.max_eval_samples,
              "test": data_args.max_predict_samples}
    return {name: split.sample(limits[name], data_args.split_seed) for name, split in splits.items()}


def encode_texts(texts: list[str], label_ids: list[int] | None, tokenizer: PreTrainedTokenizerBase,
                 max_seq_length: int, pad_to_max_length: bool, split: str) -> Dataset:
    """Tokenize (truncating to max_seq_length, and saying how many examples that cut)."""
    max_length = min(max_seq_length, tokenizer.model_max_length)
    encoded = tokenizer(texts, truncation=True, max_length=max_length,
                        padding="max_length" if pad_to_max_length else False)
    full_lengths = [len(ids) for ids in tokenizer(texts, truncation=False)["input_ids"]]
    truncated = sum(length > max_length for length in full_lengths)
    if truncated:
        logger.warning("%s: %d of %d texts are longer than %d tokens and were truncated (longest: %d).",
                       split, truncated, len(texts), max_length, max(full_lengths))
    columns = dict(encoded)
    if label_ids is not None:
        columns["labels"] = label_ids
    return Dataset.from_dict(columns)


def data_collator(tokenizer: PreTrainedTokenizerBase, pad_to_max_length: bool):
    """Dynamic padding to the longest example of each batch (default), or nothing to pad."""
    return default_data_collator if pad_to_max_length else DataCollatorWithPadding(tokenizer)


def make_compute_metrics(label_list: list[str]):
    """Trainer hook: scalar classification metrics from logits."""

    def compute_metrics(prediction) -> dict:
        logits = prediction.predictions[0] if isinstance(prediction.predictions, tuple) else prediction.predictions
        predicted = np.argmax(logits, axis=-1)
        metrics = classification_metrics(prediction.label_ids.tolist(), predicted.tolist(), label_list)
        return {k: v for k, v in metrics.items() if isinstance(v, float)}

    return compute_metrics


def predict_probabilities(trainer, dataset: Dataset) -> np.ndarray:
    """Class probabilities for every example, gathered across processes."""
    logits, _ = predict_in_order(trainer, dataset)
    return softmax(np.asarray(logits, dtype=np.float64))


def report_test_split(split: LabeledTexts, probabilities: np.ndarray, label_list: list[str], output_dir: str,
                      top_k: tuple[int, ...] = (), shown_texts: list[str] | None = None) -> dict:
    """predictions.tsv, test metrics, the text report and the confusion-matrix PNG; returns the metrics.

    `shown_texts` replaces the texts in predictions.tsv (e.g. the raw question instead of its prompt).
    """
    predicted = probabilities.argmax(axis=-1)
    label_to_id = {label: i for i, label in enumerate(label_list)}
    k_out = max([1, *top_k])
    order = np.argsort(-probabilities, axis=-1)[:, :k_out]
    path = os.path.join(output_dir, "predictions.tsv")
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, delimiter="\t", lineterminator="\n")
        header = ["file", "line", "text", "gold", "predicted", "probability"]
        header += [f"top{r + 1}_{kind}" for r in range(1, k_out) for kind in ("label", "probability")]
        writer.writerow(header)
        for row, text in enumerate(shown_texts or split.texts):
            source_file, line = split.sources[row]
            gold = split.labels[row] if split.labels is not None else ""
            cells = [os.path.basename(source_file), line, text, gold, label_list[predicted[row]],
                     f"{probabilities[row, predicted[row]]:.6f}"]
            for rank in range(1, k_out):
                cells += [label_list[order[row, rank]], f"{probabilities[row, order[row, rank]]:.6f}"]
            writer.writerow(cells)
    announce(path)
    if split.labels is None:
        logger.info("The test file has no labels: wrote predictions only.")
        return {}
    gold_ids = np.array([label_to_id.get(label, -1) for label in split.labels])
    metrics = classification_metrics(gold_ids.tolist(), predicted.tolist(), label_list)
    for k in top_k:
        metrics[f"top{k}_accuracy"] = top_k_accuracy(gold_ids, probabilities, k)
    metrics["samples"] = len(split)
    known = gold_ids >= 0
    table = classification_report(gold_ids[known], predicted[known], labels=list(range(len(label_list))),
                                  target_names=label_list, digits=4, zero_division=0)
    write_text(os.path.join(output_dir, "test_report.txt"), format_classification_report(metrics, table))
    write_json(os.path.join(output_dir, "confusion_matrix.json"),
               {"labels": label_list, "rows": "gold", "columns": "predicted", "matrix": metrics["confusion_matrix"]})
    plot_confusion_matrix(metrics["confusion_matrix"], label_list, os.path.join(output_dir, "confusion_matrix.png"),
                          "test confusion matrix")
    return metrics




def model_card_facts(task_name: str, model_args, data_args, label_list: list[str], results: dict[str, dict],
                     splits: dict[str, LabeledTexts], input_note: str, prepare: Callable[[str], str]) -> ModelCardFacts:
    """What the model card says about a sequence-classification run (the usage example is a prepared input)."""
    texts = next((s.texts for s in splits.values() if s.texts), [""])
    return ModelCardFacts(
        base_model=finetuned_from(model_args), task="text-classification",
        dataset=os.path.basename(data_args.train_file or data_args.validation_file or data_args.test_file or ""),
        labels=label_list, script=f"run_{task_name}.py", results=results,
        split_sizes={name: len(split) for name, split in splits.items()}, input_note=input_note,
        language=guess_language(texts), example_input=prepare(texts[0]).replace('"', "'")[:200],
        license="apache-2.0" if model_args.model_name_or_path == EMBEDDED_MODEL_ALIAS else None)


@dataclass
class SequenceTask:
    """What a sentence-level script decides: how to read files, which columns, and how texts are prepared.

    `make_preprocessor(config)` returns the function applied to every text (train, eval, predict, new inputs)
    after storing its settings in the config, plus a note for the model card.
    """

    name: str
    read: Callable[[str], Table]
    text_column: str
    label_column: str
    make_preprocessor: Callable[[object], tuple[Callable[[str], str], str]]
    top_k: tuple[int, ...] = ()
    rename_labels: str | None = None  # --rename_labels, for tasks that offer it
    column_flags: str = "--text_column_name/--label_column_name"  # named in errors about columns
    text_fallbacks: tuple[str, ...] = ()  # columns to use when the (default) text column is absent


@dataclass
class SequenceRun:
    trainer: object
    tokenizer: object
    label_list: list[str]
    prepare: Callable[[str], str]
    results: dict


def run_sequence_classification(task: SequenceTask, model_args, data_args, training_args) -> SequenceRun:
    """Read, split, tokenize, train, evaluate and predict a sequence-classification task; write every output."""
    resume_from, checkpoint_marker = resume_point(model_args, data_args, training_args)
    config = load_config(model_args)
    label_names = resolve_label_names(config, task.rename_labels)
    with training_args.main_process_first(desc="reading and splitting the data"):
        splits = load_labeled_splits(data_args, task, training_args.output_dir, training_args.should_save,
                                     label_names, held_out_splits_needed(training_args))
    require_splits(training_args, splits)
    label_list = resolve_label_list(config, training_args.do_train,
                                    splits["train"].labels if "train" in splits else None,
                                    {name: s.labels for name, s in splits.items() if name != "train"},
                                    data_args.allow_unseen_labels, named_label_order(label_names))
    prepare, input_note = task.make_preprocessor(config)
    logger.info("Labels (%d): %s", len(label_list), label_list[:20])

    tokenizer = load_tokenizer(model_args, config)
    model = load_model(AutoModelForSequenceClassification, model_args, config, tokenizer)
    texts = {name: [prepare(t) for t in split.texts] for name, split in splits.items()}
    _, embedding_learning_rate = prepare_vocabulary(model_args, training_args, tokenizer, model, texts.get("train"))
    label_to_id = {label: i for i, label in enumerate(label_list)}
    with training_args.main_process_first(desc="tokenizing"):
        encoded = {
            name: encode_texts(texts[name],
                               None if split.labels is None else [label_to_id.get(x, -100) for x in split.labels],
                               tokenizer, data_args.max_seq_length, data_args.pad_to_max_length, name)
            for name, split in splits.items()
        }
    warm_up_encoder(model, tokenizer, encoded.get("train"), model_args, training_args, embedding_learning_rate,
                    resume_from)

    trainer = BertftTrainer(
        model=model,
        args=training_args,
        train_dataset=encoded.get("train"),
        eval_dataset=encoded.get("validation"),
        processing_class=tokenizer,
        data_collator=data_collator(tokenizer, data_args.pad_to_max_length),
        compute_metrics=make_compute_metrics(label_list),
        embedding_learning_rate=embedding_learning_rate,
        callbacks=[checkpoint_marker],
    )
    results: dict[str, dict] = {}
    if training_args.do_train:
        train_and_save(trainer, training_args, len(encoded["train"]), resume_from)
    if training_args.do_eval:
        results["validation"] = evaluate_and_save(trainer, len(encoded["validation"]))
    if training_args.do_predict:
        probabilities = predict_probabilities(trainer, encoded["test"])
        if trainer.is_world_process_zero():
            metrics = report_test_split(splits["test"], probabilities, label_list, training_args.output_dir,
                                        task.top_k, shown_texts=splits["test"].texts)
            if metrics:
                save_split_metrics(trainer, "test", scalar_metrics(metrics, "test"))
                results["test"] = metrics
    card = model_card_facts(task.name, model_args, data_args, label_list, results, splits, input_note, prepare)
    finish(trainer, training_args, card, "eval_accuracy")
    return SequenceRun(trainer, tokenizer, label_list, prepare, results)
