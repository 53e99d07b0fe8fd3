#!/usr/bin/env python
"""Fine-tune a BERT-family encoder for single-sentence classification (e.g. sarcastic news headlines).

    python run_classify.py --train_file data/sarcasm_headlines_sample.jsonl --text_column_name headline \
        --label_column_name is_sarcastic --do_train --do_eval --do_predict --output_dir outputs/sarcasm

Also: `accelerate launch run_classify.py ...`, or a single JSON config file as the only argument.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial

from bertft_utils.config.arguments import (
    METRIC_NAMES,
    BertftTrainingArguments,
    ModelArguments,
    SequenceDataArguments,
    parse_arguments,
)
from bertft_utils.config.cli import run_cli
from bertft_utils.config.effects import PREDICTION, TRAINING, affects
from bertft_utils.data.labels import parse_label_names
from bertft_utils.errors import UsageError


@dataclass
class ClassificationDataArguments(SequenceDataArguments):
    """Which columns hold the text and the label, and how to clean the text."""

    text_column_name: str = field(default="text", metadata={**affects(TRAINING, PREDICTION),
        "help": "Column with the text to classify (default 'text', else 'sentence' as HF's run_classification.py); "
                "several columns comma-separated are joined by --text_column_delimiter (alias: HF's "
                "--text_column_names).",
        "aliases": ["--text_column_names"]})
    column_names: str | None = field(default=None, metadata={**affects(TRAINING, PREDICTION, added_later=True),
        "help": "csv/tsv files without a header row (every line a record): their column names, comma-separated, "
                "e.g. 'text,labels,id' for GoEmotions' tsv files."})
    text_column_delimiter: str = field(default=" ", metadata={**affects(TRAINING, PREDICTION, added_later=True),
        "help": "What joins several --text_column_name columns into one text (default a space; as HF's "
                "run_classification.py)."})
    text_pair_column_name: str | None = field(default=None, metadata={
        **affects(TRAINING, PREDICTION, added_later=True),
        "help": "Column with the second text of sentence pairs (paraphrase, entailment): the tokenizer gets both "
                "texts (BERT/ALBERT token types 0/1, RoBERTa's double separator). Default: none, unless the text "
                "column is absent and the file has sentence1/sentence2 or question/sentence (as run_glue.py)."})
    label_column_name: str = field(default="label", metadata={**affects(TRAINING, PREDICTION),
        "help": "Column with the gold label; a JSON list of labels there (or labels split by --label_delimiter) "
                "makes the task multi-label."})
    label_delimiter: str | None = field(default=None, metadata={**affects(TRAINING, PREDICTION, added_later=True),
        "help": "Multi-label: the label cell holds labels split by this string (e.g. ','); a JSON list needs no "
                "delimiter. One sigmoid output per label, binary cross-entropy, and subset accuracy, Hamming loss "
                "and micro/macro/weighted F1 (accuracy is subset accuracy, f1 micro F1). Stored with the model."})
    multilabel_threshold: float | None = field(default=None, metadata={**affects(PREDICTION, added_later=True),
        "help": "Multi-label: predict a label when its probability reaches this value, for every label. Default: "
                "a threshold per label tuned on the validation data at each evaluation (highest F1), stored with "
                "the model; 0.5 where no validation data is evaluated."})
    do_regression: bool = field(default=False, metadata={**affects(TRAINING, PREDICTION, added_later=True),
        "help": "The label column holds numbers (e.g. STS-B similarity): one output trained with MSE, scored by "
                "MSE, RMSE, MAE, Pearson and Spearman (as HF's run_classification.py --do_regression)."})
    long_text_strategy: str = field(default="truncate", metadata={
        **affects(TRAINING, PREDICTION, added_later=True),
        "help": "A text longer than --max_seq_length tokens: 'truncate' (its end is cut; the log counts them) or "
                "'windows' (overlapping windows of --doc_stride shared tokens, each trained on with the text's "
                "label; a text's prediction is the mean of its windows' outputs)."})
    doc_stride: int | None = field(default=None, metadata={**affects(TRAINING, PREDICTION, added_later=True),
        "help": "With --long_text_strategy windows: tokens two windows share (default a quarter of "
                "--max_seq_length)."})
    metric_name: str | None = field(default=None, metadata={**affects(TRAINING, added_later=True),
        "help": f"The validation metric that chooses the best checkpoint, as HF's run_classification.py: one of "
                f"{', '.join(METRIC_NAMES)}; sets --metric_for_best_model when that is not given. Every report "
                "gives all of them."})
    rename_labels: str | None = field(
        default=None,
        metadata={**affects(TRAINING, PREDICTION),
                  "help": "Names for raw label values, e.g. '0=serious,1=sarcastic' (or a JSON object): reports, "
                  "predictions and the saved model (pipeline) use the names; stored with the model."},
    )
    regex_transformations: str | None = field(
        default=None,
        metadata={**affects(TRAINING, PREDICTION),
                  "help": "JSON {pattern: replacement} (or a file holding it) applied to every text in order, at "
                  "train, eval and predict time; stored with the model."},
    )

    def __post_init__(self):
        super().__post_init__()
        if self.metric_name is not None and self.metric_name not in METRIC_NAMES:
            raise UsageError(f"--metric_name must be one of {', '.join(METRIC_NAMES)}, got {self.metric_name!r}.")
        if self.long_text_strategy not in ("truncate", "windows"):
            raise UsageError(f"--long_text_strategy must be 'truncate' or 'windows', got {self.long_text_strategy!r}.")
        if self.doc_stride is not None and not 0 <= self.doc_stride < self.max_seq_length // 2:
            raise UsageError(f"--doc_stride must be in [0, {self.max_seq_length // 2}) for --max_seq_length "
                             f"{self.max_seq_length}, got {self.doc_stride}.")
        if self.do_regression and (self.rename_labels or self.positive_label):
            raise UsageError("--do_regression reads numbers: --rename_labels and --positive_label name classes.")
        if self.do_regression and (self.label_delimiter is not None or self.multilabel_threshold is not None):
            raise UsageError("--do_regression reads one number per record: --label_delimiter and "
                             "--multilabel_threshold are for multi-label classification.")
        if self.column_names is not None and not all(name.strip() for name in self.column_names.split(",")):
            raise UsageError(f"--column_names must name every column, comma-separated; got {self.column_names!r}.")
        if self.label_delimiter == "":
            raise UsageError("--label_delimiter must not be empty (e.g. ',').")
        if self.multilabel_threshold is not None and not 0 < self.multilabel_threshold < 1:
            raise UsageError(f"--multilabel_threshold must be a probability in (0, 1), got "
                             f"{self.multilabel_threshold}.")
        if self.rename_labels is not None:
            parse_label_names(self.rename_labels)  # a malformed list fails here, before any work


# The script's arguments, in parsing order (scripts/run_record.py reads them too).
ARGUMENT_CLASSES = (ModelArguments, ClassificationDataArguments, BertftTrainingArguments)


def main() -> None:
    model_args, data_args, training_args = parse_arguments(*ARGUMENT_CLASSES)
    # imported after parsing: --help and argument errors need only the argument classes
    from bertft_utils.tasks.classify import classify_task
    from bertft_utils.tasks.flow import run_script

    run_script(partial(classify_task, model_args=model_args), model_args, data_args, training_args)


if __name__ == "__main__":
    run_cli(main)
