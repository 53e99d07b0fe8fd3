"""The sentence-classification task (run_classify.py): a sequence task over table files whose texts may be cleaned
by regex transformations stored with the model."""

from __future__ import annotations

from functools import partial

from bertft_utils.data.readers import read_table
from bertft_utils.data.transforms import resolve_regex_transformations
from bertft_utils.tasks.regression import RegressionTask
from bertft_utils.tasks.sequence import SequenceTask


def classify_task(data_args) -> SequenceTask:
    """The task for `data_args` (run_classify.py's ClassificationDataArguments): a classification, or with
    --do_regression a regression."""

    def make_preprocessor(config):
        clean = resolve_regex_transformations(data_args.regex_transformations, config)
        note = ("Input is cleaned with the regex transformations stored in `config.bertft_regex_transformations` "
                "before tokenization; apply them yourself when calling `pipeline`." if clean else "")
        return clean, note

    kind = RegressionTask if getattr(data_args, "do_regression", False) else SequenceTask
    return kind("classify", partial(read_table, data_format=data_args.data_format,
                                            tsv_quoting=data_args.tsv_quoting),
                        data_args.text_column_name, data_args.label_column_name, make_preprocessor,
                        rename_labels=data_args.rename_labels, positive_label=data_args.positive_label,
                        text_fallbacks=("sentence",) if data_args.text_column_name == "text" else (),
                        pair_column=data_args.text_pair_column_name, guess_pairs=True,
                        text_joiner=data_args.text_column_delimiter)
