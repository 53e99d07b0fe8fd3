"""Sequence-level tasks (run_classify.py, run_qa_label.py): labelled texts per split, how they are prepared and
encoded, and how class probabilities become predictions and metrics."""

from __future__ import annotations

import dataclasses
import logging
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np
from datasets import Dataset
from scipy.special import softmax
from transformers import (
    AutoModelForSequenceClassification,
    DataCollatorWithPadding,
    PreTrainedTokenizerBase,
    default_data_collator,
)

from bertft_utils.data.labels import (
    label_to_str,
    name_labels,
    named_label_order,
    resolve_label_names,
    resolve_positive_label,
)
from bertft_utils.data.readers import Table
from bertft_utils.errors import UsageError
from bertft_utils.evaluation.metrics import classification_metrics, classification_scores
from bertft_utils.evaluation.prediction_files import write_classification_predictions, write_classification_report
from bertft_utils.evaluation.uncertainty import Bootstrap, interval_note
from bertft_utils.modeling.arrow_encoding import ArrowEncoder
from bertft_utils.training.losses import class_weights, weighted_cross_entropy

logger = logging.getLogger(__name__)


class SourceLines(Sequence):
    """(file, line) of each record of one file, held as the path and an array of line numbers: a tuple per record
    would be a Python object per record (millions in a large file)."""

    def __init__(self, path: str, lines: Sequence[int]):
        self.path = path
        self.lines = (np.arange(lines.start, lines.stop, lines.step, dtype=np.int64) if isinstance(lines, range)
                      else np.asarray(lines, dtype=np.int64))

    def __len__(self) -> int:
        return len(self.lines)

    def __getitem__(self, index: int) -> tuple[str, int]:
        return self.path, int(self.lines[index])

    def __iter__(self) -> Iterator[tuple[str, int]]:
        return ((self.path, line) for line in self.lines.tolist())

    def take(self, indices: Sequence[int]) -> SourceLines:
        return SourceLines(self.path, self.lines[np.asarray(indices, dtype=np.int64)])


@dataclass
class LabeledTexts:
    """Texts of one split with their gold labels (None when the file has none) and source file/line."""

    texts: list[str] = field(default_factory=list)
    labels: list[str] | None = None
    sources: Sequence[tuple[str, int]] = field(default_factory=list)
    pairs: list[str] | None = None  # the second text of each sentence pair (None: single texts)

    def __len__(self) -> int:
        return len(self.texts)

    def subset(self, indices: list[int]) -> LabeledTexts:
        sources = (self.sources.take(indices) if isinstance(self.sources, SourceLines)
                   else [self.sources[i] for i in indices])
        return LabeledTexts([self.texts[i] for i in indices], None if self.labels is None else
                            [self.labels[i] for i in indices], sources,
                            None if self.pairs is None else [self.pairs[i] for i in indices])


# Column pairs taken as sentence pairs when the text column is absent, as Hugging Face's run_glue.py takes them.
PAIR_COLUMNS = (("sentence1", "sentence2"), ("question", "sentence"))
PAIR_JOINER = " ||| "  # between the two texts of a pair where one string stands for it (overlap, language)


def table_to_labeled_texts(table: Table, text_column: str, label_column: str, require_labels: bool,
                           flags: str = "--text_column_name/--label_column_name",
                           pair_column: str | None = None, joiner: str = " ",
                           parse_label: Callable[[object, tuple[str, int]], object] | None = None) -> LabeledTexts:
    """Pick the text and label columns (by name; several text columns comma-separated are joined by `joiner`), and
    the second text of sentence pairs, out of a Table. Label cells become strings (`parse_label(cell, (file, line))`
    reads them otherwise, e.g. as lists of labels)."""
    has_labels = label_column in table.columns()
    text_columns = [c.strip() for c in text_column.split(",")] if text_column not in table.columns() else [text_column]
    if require_labels or not has_labels:
        table.require_columns(*text_columns, *([label_column] if require_labels else []), flags=flags)
    if pair_column is not None:
        table.require_columns(pair_column, flags="--text_pair_column_name")
    columns = [[str(t) for t in table.column(name)] for name in text_columns]
    texts = columns[0] if len(columns) == 1 else [joiner.join(parts) for parts in zip(*columns, strict=True)]
    sources = SourceLines(table.path, table.line_numbers)
    labels = None
    if has_labels:
        cells = table.column(label_column, empty_allowed=parse_label is not None)
        labels = [label_to_str(v) for v in cells] if parse_label is None else [
            parse_label(cell, source) for cell, source in zip(cells, sources, strict=True)]
    pairs = [str(t) for t in table.column(pair_column)] if pair_column is not None else None
    return LabeledTexts(texts, labels, sources, pairs)


@dataclass
class EncodedTexts:
    """Tokenized texts of one split; with windows, `text_of` gives the text each row (window) belongs to."""

    encoded: Dataset
    text_of: list[int] | None = None

    def dataset(self) -> Dataset:
        return self.encoded

    def per_text_with_gold(self, outputs: np.ndarray, gold: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Evaluation outputs and gold per row -> per text (`per_text`, and each text's gold from its first row);
        as they are when these rows are not this split's windows."""
        if self.text_of is None or len(self.text_of) != len(gold):
            return outputs, gold
        return self.per_text(outputs), gold[self.first_rows()]

    def first_rows(self) -> np.ndarray:
        """The first row (window) of each text."""
        return np.unique(np.asarray(self.text_of), return_index=True)[1]

    def per_text(self, outputs: np.ndarray) -> np.ndarray:
        """Model outputs per row -> per text: the mean over a text's windows (rows as they are without windows)."""
        outputs = np.asarray(outputs, dtype=np.float64)
        if self.text_of is None:
            return outputs
        texts = max(self.text_of) + 1
        summed = np.zeros((texts, *outputs.shape[1:]))
        np.add.at(summed, self.text_of, outputs)
        counts = np.bincount(self.text_of, minlength=texts).reshape(-1, *[1] * (outputs.ndim - 1))
        return summed / counts


def encode_texts(texts: list[str], label_ids: list | None, tokenizer: PreTrainedTokenizerBase,
                 max_seq_length: int, pad_to_max_length: bool, split: str,
                 pairs: list[str] | None = None, window_stride: int | None = None) -> EncodedTexts:
    """Tokenize single texts or sentence pairs (the tokenizer's pair form: token type ids 0/1 for BERT and ALBERT,
    RoBERTa's double separator), truncating to max_seq_length (pairs: longest first) and saying how many examples
    that cut; with `window_stride`, a long single text becomes overlapping windows (that many tokens shared), each
    with the text's label."""
    max_length = min(max_seq_length, tokenizer.model_max_length)
    if window_stride is None:
        return _truncated_encoding(texts, label_ids, tokenizer, max_length, pad_to_max_length, split, pairs)
    full_lengths = [len(ids) for ids in tokenizer(texts, pairs, truncation=False)["input_ids"]]
    if pairs is not None:
        raise UsageError("--long_text_strategy windows reads single texts; sentence pairs are truncated longest "
                         "first (drop the option).")
    encoded = tokenizer(texts, truncation=True, max_length=max_length, stride=window_stride,
                        return_overflowing_tokens=True, padding="max_length" if pad_to_max_length else False)
    text_of = list(encoded.pop("overflow_to_sample_mapping"))
    columns = dict(encoded)
    if label_ids is not None:
        columns["labels"] = [label_ids[i] for i in text_of]
    windowed = sum(length > max_length for length in full_lengths)
    if windowed:
        logger.info("%s: %d of %d texts are longer than %d tokens: read as %d overlapping windows in all "
                    "(--long_text_strategy windows), their outputs averaged.", split, windowed, len(texts),
                    max_length, len(text_of))
    return EncodedTexts(Dataset.from_dict(columns), text_of)


ENCODE_CHUNK = 20_000  # texts tokenized and turned into Arrow at a time: memory stays flat however large the split


def _truncated_encoding(texts: list[str], label_ids: list | None, tokenizer: PreTrainedTokenizerBase,
                        max_length: int, pad_to_max_length: bool, split: str,
                        pairs: list[str] | None) -> EncodedTexts:
    """Texts (or pairs, longest first) cut to max_length, tokenized once, chunk by chunk into one Arrow dataset;
    only the encodings that reach max_length are tokenized again in full, to count (and report) the cut ones."""
    from datasets import concatenate_datasets

    parts, truncated, longest = [], 0, 0
    encode = ArrowEncoder(tokenizer, max_length, pad_to_max_length)
    chunk_size = max(1, min(ENCODE_CHUNK, 2**31 // max(max_length, 1) - 1))  # Arrow's int32 list offsets
    for start in range(0, max(len(texts), 1), chunk_size):  # an empty split still gets its (empty) columns
        chunk = slice(start, start + chunk_size)
        chunk_pairs = pairs[chunk] if pairs is not None else None
        encoded = encode(texts[chunk], chunk_pairs)
        at_limit = np.flatnonzero(encoded.lengths >= max_length).tolist()
        if at_limit:
            full = tokenizer([texts[start + i] for i in at_limit],
                             [chunk_pairs[i] for i in at_limit] if chunk_pairs is not None else None,
                             truncation=False)["input_ids"]
            cut = [len(ids) for ids in full if len(ids) > max_length]
            truncated, longest = truncated + len(cut), max([longest, *cut])
        columns = dict(encoded.columns)
        if label_ids is not None:
            columns["labels"] = label_ids[chunk]
        parts.append(Dataset.from_dict(columns))
    if truncated:
        logger.warning("%s: %d of %d %s are longer than %d tokens and were truncated (%s; longest: %d).",
                       split, truncated, len(texts), "sentence pairs" if pairs else "texts", max_length,
                       "the longer text of the pair first" if pairs else "the end cut", longest)
    return EncodedTexts(parts[0] if len(parts) == 1 else concatenate_datasets(parts))


def window_stride(data_args) -> int | None:
    """The tokens two windows of a long text share with --long_text_strategy windows (--doc_stride, default a
    quarter of --max_seq_length); None: texts are truncated."""
    if getattr(data_args, "long_text_strategy", "truncate") != "windows":
        return None
    stride = getattr(data_args, "doc_stride", None)
    return data_args.max_seq_length // 4 if stride is None else stride


def data_collator(tokenizer: PreTrainedTokenizerBase, pad_to_max_length: bool):
    """Dynamic padding to the longest example of each batch (default), or nothing to pad."""
    return default_data_collator if pad_to_max_length else DataCollatorWithPadding(tokenizer)


def make_compute_metrics(label_list: list[str], positive_label: str | None, validation: EncodedTexts | None = None):
    """Trainer hook: scalar classification metrics from logits (per text: a text's windows averaged)."""

    def compute_metrics(prediction) -> dict:
        logits = prediction.predictions[0] if isinstance(prediction.predictions, tuple) else prediction.predictions
        gold = prediction.label_ids
        if validation is not None:
            logits, gold = validation.per_text_with_gold(logits, gold)
        predicted = np.argmax(logits, axis=-1)
        metrics = classification_metrics(gold.tolist(), predicted.tolist(), label_list, positive_label)
        return {k: v for k, v in metrics.items() if isinstance(v, float)}

    return compute_metrics


@dataclass(frozen=True)
class SequenceStored:
    """What a sentence-level task reads from (and stores in) the model config before any data."""

    label_names: dict[str, str] | None  # raw label value -> name (--rename_labels, or the model's own)
    prepare: Callable[[str], str]  # applied to every text: regex cleaning, a prompt template
    input_note: str  # how to feed `pipeline`, for the model card


@dataclass(frozen=True)
class SequenceHead:
    """How the classifier's scores are read: which class binary precision/recall/F1 are for."""

    positive: tuple[str, str] | None  # (label, why it was taken); None with more than two classes


@dataclass
class SequenceTask:
    """A sentence-level script's part of the task flow (see flow.Task): how files are read, which columns, how
    texts are prepared.

    `make_preprocessor(config)` returns the function applied to every text (train, eval, predict, new inputs)
    after storing its settings in the config, plus a note for the model card.
    """

    name: str
    read_table: Callable[[str], Table]
    text_column: str
    label_column: str
    make_preprocessor: Callable[[object], tuple[Callable[[str], str], str]]
    top_k: tuple[int, ...] = ()
    rename_labels: str | None = None  # --rename_labels, for tasks that offer it
    positive_label: str | None = None  # --positive_label (two classes)
    column_flags: str = "--text_column_name/--label_column_name"  # named in errors about columns
    text_fallbacks: tuple[str, ...] = ()  # columns to use when the (default) text column is absent
    pair_column: str | None = None  # --text_pair_column_name: the second text of sentence pairs
    guess_pairs: bool = False  # take run_glue's PAIR_COLUMNS as pairs when the (default) text column is absent
    text_joiner: str = " "  # joins several text columns (--text_column_delimiter)
    extra_data_report: Callable[[], dict] = dict

    pipeline_task = "text-classification"
    model_class = AutoModelForSequenceClassification
    pretokenized = False
    curve_metric = "eval_accuracy"
    int8_recheck = "top class"

    @property
    def script(self) -> str:
        return f"run_{self.name}.py"

    def configure(self, config) -> SequenceStored:
        label_names = resolve_label_names(config, self.rename_labels)
        prepare, input_note = self.make_preprocessor(config)
        return SequenceStored(label_names, prepare, input_note)

    def input_note(self, stored: SequenceStored) -> str:
        return stored.input_note

    def read(self, path: str, split: str) -> LabeledTexts:
        """Labels are required in training and validation files; a test file without them is for prediction."""
        table = self.read_table(path)
        text_column, pair_column = self.text_column, self.pair_column
        present = table.columns()
        if self.guess_pairs and pair_column is None and text_column not in present:
            found = next(((a, b) for a, b in PAIR_COLUMNS if a in present and b in present), None)
            if found:
                text_column, pair_column = found
                logger.info("%s: no column %r; sentence pairs from %r and %r, as run_glue.py takes them (set "
                            "--text_column_name/--text_pair_column_name to choose).", path, self.text_column, *found)
        if self.text_fallbacks and pair_column is None:
            text_column = table.pick_column(text_column, text_column, self.text_fallbacks,
                                            self.column_flags.split("/")[0])
        return table_to_labeled_texts(table, text_column, self.label_column, split != "test", self.column_flags,
                                      pair_column, self.text_joiner, self.label_parser())

    def label_parser(self) -> Callable[[object, tuple[str, int]], object] | None:
        """How a label cell is read (None: as one label, a string)."""
        return None

    def strata(self, records: LabeledTexts) -> list[str] | None:
        return records.labels

    def prepare_splits(self, splits: dict[str, LabeledTexts], data_args,
                       stored: SequenceStored) -> tuple[dict[str, LabeledTexts], dict]:
        """Raw label values get their --rename_labels names after the split, which is made on the raw values:
        naming labels never changes a split. Returns the splits and the facts: the training split's label counts,
        and whether the inputs are sentence pairs."""
        if stored.label_names:
            splits = {name: records if records.labels is None else dataclasses.replace(
                records, labels=name_labels(records.labels, records.sources, stored.label_names))
                for name, records in splits.items()}
        return splits, {"train_counts": Counter(splits["train"].labels) if "train" in splits else None,
                        "pairs": any(records.pairs is not None for records in splits.values())}

    def gold_labels(self, records: LabeledTexts) -> list[str] | None:
        return records.labels

    def label_order(self, stored: SequenceStored) -> list[str] | None:
        return named_label_order(stored.label_names)

    def extend_model(self, model, label_list: list[str], model_args, training: bool, new_head: bool,
                     stored: SequenceStored, facts: dict) -> SequenceHead:
        """Two classes: which one binary precision/recall/F1 are for (stored in the config)."""
        return SequenceHead(resolve_positive_label(model.config, self.positive_label, label_list,
                                                   facts["train_counts"], stored.label_names))

    def bind_model(self, model, head: SequenceHead) -> SequenceHead:
        return head

    def model_inputs(self, records: LabeledTexts, stored: SequenceStored) -> list[str]:
        """Prepared texts; a sentence pair as one string, its texts joined by PAIR_JOINER."""
        texts = [stored.prepare(text) for text in records.texts]
        if records.pairs is None:
            return texts
        return [f"{text}{PAIR_JOINER}{stored.prepare(pair)}" for text, pair in zip(texts, records.pairs, strict=True)]

    def encode(self, split: str, records: LabeledTexts, tokenizer, label_to_id: dict[str, int], data_args,
               stored: SequenceStored, head: SequenceHead) -> EncodedTexts:
        pairs = None if records.pairs is None else [stored.prepare(pair) for pair in records.pairs]
        return encode_texts([stored.prepare(text) for text in records.texts], self.label_values(records, label_to_id),
                            tokenizer, data_args.max_seq_length, data_args.pad_to_max_length, split, pairs,
                            window_stride(data_args))

    def label_values(self, records: LabeledTexts, label_to_id: dict[str, int]) -> list | None:
        """What the model is trained to output per record: class ids (-100: a label unseen in training)."""
        return None if records.labels is None else [label_to_id.get(x, -100) for x in records.labels]

    def trainer_hooks(self, tokenizer, data_args, label_list: list[str], validation, encoded_validation,
                      current_head: Callable[[], SequenceHead], facts: dict) -> dict:
        positive = current_head().positive
        hooks = {"data_collator": data_collator(tokenizer, data_args.pad_to_max_length),
                 "compute_metrics": make_compute_metrics(label_list, positive and positive[0], encoded_validation)}
        if getattr(data_args, "class_weights", None) and facts["train_counts"]:  # weights matter in training only
            weights = class_weights(data_args.class_weights, label_list, facts["train_counts"])
            facts["class_weights"] = weights  # written to data_report.json
            hooks["compute_loss_func"] = weighted_cross_entropy([weights[label] for label in label_list])
        return hooks

    def prediction_splits(self, splits: dict[str, LabeledTexts]) -> list[str]:
        return ["test"] if "test" in splits else []

    def streamed_split(self, data_args) -> None:
        return None  # sentence-level input is read whole (new questions are few)

    def write_predictions(self, split: str, records: LabeledTexts, outputs, output_dir: str, append: bool = False,
                          suffix: str = "") -> list[str]:
        raise NotImplementedError("no split of a sentence-level task is written piece by piece")

    def decode(self, encoded: EncodedTexts, predictions, label_list: list[str], head: SequenceHead) -> np.ndarray:
        """Class probabilities per example (a long text's windows: their logits averaged)."""
        return softmax(encoded.per_text(predictions), axis=-1)

    def write_outputs(self, split: str, records: LabeledTexts, outputs: np.ndarray, label_list: list[str],
                      output_dir: str, timing: dict, notes: list[str], head: SequenceHead, facts: dict,
                      bootstrap: Bootstrap) -> dict:
        write_classification_predictions(records, outputs, label_list, output_dir, self.top_k)
        if records.labels is None:
            logger.info("The test file has no labels: wrote predictions only.")
            return {}
        metrics = classification_scores(records.labels, outputs, label_list, self.top_k, head.positive, bootstrap)
        metrics["runtime"] = timing.get("test_runtime")
        metrics["samples_per_second"] = timing.get("test_samples_per_second")
        shown = {"accuracy": "accuracy", "f1": "F1", "macro_f1": "macro F1",
                 **{f"top{k}_accuracy": f"top-{k} accuracy" for k in self.top_k}}
        write_classification_report(metrics, label_list, output_dir, [*interval_note(metrics, shown), *notes])
        return metrics

    def headline_scores(self, records: LabeledTexts, outputs: np.ndarray, label_list: list[str], head: SequenceHead,
                        facts: dict) -> dict:
        metrics = classification_scores(records.labels, outputs, label_list, self.top_k, head.positive)
        return {name: metrics[name] for name in ("accuracy", "precision", "recall", "f1", "macro_f1",
                                                 *(f"top{k}_accuracy" for k in self.top_k))}

    def data_report(self, coverage, encoded: dict, facts: dict) -> dict:
        weights = {"class_weights": facts["class_weights"]} if facts.get("class_weights") else {}
        return {**self.extra_data_report(), **weights}

    def card_sections(self, results: dict[str, dict]) -> list[str]:
        return []
