#!/usr/bin/env python
"""Fine-tune a BERT-family encoder for named-entity recognition (character-level Chinese or word-level CoNLL).

    python run_ner.py --train_file data/msra_ner_sample.txt --test_file data/msra_ner_test_sample.txt \
        --add_unk_chars --do_train --do_eval --do_predict --output_dir outputs/msra

Sentences are never truncated: long ones are split into overlapping windows and every token is predicted and scored.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from bertft_utils.config.arguments import BertftTrainingArguments, DataArguments, ModelArguments, parse_arguments
from bertft_utils.config.cli import run_cli
from bertft_utils.config.effects import OUTPUT, PREDICTION, TRAINING, affects
from bertft_utils.data.tags import SCHEMES, parse_tag_names
from bertft_utils.errors import UsageError
from bertft_utils.tasks.decoding import DECODINGS


@dataclass
class NerDataArguments(DataArguments):
    """Token-level input: columns, tag scheme, windows and raw-text prediction."""

    tokens_column_name: str = field(default="tokens", metadata={**affects(TRAINING, PREDICTION),
        "help": "jsonl/csv: column with the token list (default 'tokens', else the first column; alias: HF's "
                "--text_column_name).", "aliases": ["--text_column_name"]})
    tags_column_name: str = field(default="ner_tags", metadata={**affects(TRAINING, PREDICTION),
        "help": "jsonl/csv: column with the tag list (default 'ner_tags', else the second column; alias: HF's "
                "--label_column_name).", "aliases": ["--label_column_name"]})
    doc_stride: int | None = field(
        default=None, metadata={**affects(TRAINING, PREDICTION),
                                "help": "Overlap in tokens between windows of a long sentence. Default: a quarter of "
                                "--max_seq_length (32 for 128)."})
    tag_scheme: str | None = field(default=None, metadata={**affects(TRAINING, PREDICTION),
                                                           "help": f"One of {SCHEMES}; detected when absent."})
    tag_names: str | None = field(
        default=None,
        metadata={**affects(TRAINING, PREDICTION),
                  "help": "For files whose tags are integer ids (e.g. exported from Hugging Face datasets): the tag "
                          "names in id order, comma-separated (O,B-PER,I-PER,...), as a JSON list or in a file with "
                          "one name per line."},
    )
    decoding: str | None = field(default=None, metadata={**affects(TRAINING, PREDICTION),
        "help": "How tags are chosen from the model's scores: 'viterbi' (the best sequence the tag scheme allows, "
                "never an I-X after O or another type; results/ner_decoding.md compares it with argmax), "
                "'crf' (a CRF layer trained over the token scores, its transitions added to the same search; saved "
                "with the model) or 'argmax' (each token on its own, as pipeline does). Default: 'crf' for a model "
                "trained with a CRF, else 'viterbi'."})
    crf_learning_rate: float | None = field(default=None, metadata={**affects(TRAINING),
        "help": "Learning rate of the CRF's start/transition/end scores with --decoding crf (default: 100 x "
                "--learning_rate; they start from 0, not from pretrained values)."})
    fix_tags: bool = field(default=False, metadata={**affects(TRAINING),
                                                    "help": "Repair illegal tag sequences (I-X after O -> B-X)."})
    strict_scoring: bool = field(default=False, metadata={**affects(PREDICTION),
                                                          "help": "seqeval strict mode for the detected scheme."})
    predict_text_file: str | None = field(
        default=None, metadata={**affects(PREDICTION),
                                "help": "Untagged text, one sentence per line, to tag with --do_predict: "
                                        "text_predictions.txt. Read, tagged and written piece by piece, so a file "
                                        "of any size is tagged in the same memory, its progress logged."})
    return_entity_level_metrics: bool = field(default=False, metadata={**affects(OUTPUT),
        "help": "Taken for Hugging Face's run_ner.py: per-type entity metrics are always reported "
                "(<split>_<TYPE>_f1, test_entity_report.txt)."})
    output_format: str = field(default="tags", metadata={**affects(OUTPUT),
        "help": "Predictions besides the tagged file: 'tags' (only the input with a predicted-tag column) or 'spans' "
                "(also predictions_spans.json: CLUENER's form, one JSON object per sentence, {\"id\", \"label\": "
                "{type: {mention: [[start, end]]}}}, end inclusive, in token positions: characters for Chinese)."})
    text_split: str = field(default="char", metadata={**affects(PREDICTION),
                                                      "help": "How --predict_text_file lines become tokens: "
                                                              "'char' (Chinese) or 'whitespace'."})

    def __post_init__(self):
        super().__post_init__()
        if self.doc_stride is None:
            self.doc_stride = self.max_seq_length // 4
        if not 0 <= self.doc_stride < self.max_seq_length - 2:  # the exact bound (special tokens) is checked later
            raise UsageError(f"--doc_stride must be in [0, {self.max_seq_length - 2}) for --max_seq_length "
                             f"{self.max_seq_length}, got {self.doc_stride}; leave it out for a quarter of it.")
        if self.tag_scheme is not None and self.tag_scheme not in SCHEMES:
            raise UsageError(f"--tag_scheme must be one of {SCHEMES}, got {self.tag_scheme!r}.")
        if self.decoding is not None and self.decoding not in DECODINGS:
            raise UsageError(f"--decoding must be one of {DECODINGS}, got {self.decoding!r}.")
        if self.crf_learning_rate is not None and self.crf_learning_rate <= 0:
            raise UsageError(f"--crf_learning_rate must be > 0, got {self.crf_learning_rate}.")
        if self.output_format not in ("tags", "spans"):
            raise UsageError(f"--output_format must be 'tags' or 'spans', got {self.output_format!r}.")
        if self.text_split not in ("char", "whitespace"):
            raise UsageError(f"--text_split must be 'char' or 'whitespace', got {self.text_split!r}.")
        if self.tag_names is not None:
            parse_tag_names(self.tag_names)  # a bad list fails here, before any work
        if self.predict_text_file is not None and not os.path.isfile(self.predict_text_file):
            raise FileNotFoundError(f"--predict_text_file {self.predict_text_file!r} does not exist.")


# The script's arguments, in parsing order (scripts/run_record.py reads them too).
ARGUMENT_CLASSES = (ModelArguments, NerDataArguments, BertftTrainingArguments)


def main() -> None:
    model_args, data_args, training_args = parse_arguments(*ARGUMENT_CLASSES)
    # imported after parsing: --help and argument errors need only the argument classes
    from bertft_utils.tasks.flow import run_script
    from bertft_utils.tasks.ner import NerTask

    run_script(NerTask, model_args, data_args, training_args)


if __name__ == "__main__":
    run_cli(main)
