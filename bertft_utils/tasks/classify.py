"""The sentence-classification task (run_classify.py): a sequence task over table files whose texts may be cleaned
by regex transformations stored with the model; single-label, multi-label (list labels) or a regression."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from bertft_utils.data.labels import parsed_label_list
from bertft_utils.data.readers import Table, read_table
from bertft_utils.data.transforms import resolve_regex_transformations
from bertft_utils.modeling.loading import load_config
from bertft_utils.tasks.multilabel import DELIMITER_KEY, MultiLabelTask, is_multilabel_config
from bertft_utils.tasks.regression import RegressionTask
from bertft_utils.tasks.sequence import SequenceTask


class KeptTables:
    """A table reader that keeps the tables read to choose the task until the task reads them (once each): a file
    is parsed once per run."""

    def __init__(self, read: Callable[[str], Table]):
        self.read, self.kept = read, {}

    def peek(self, path: str) -> Table:
        if path not in self.kept:
            self.kept[path] = self.read(path)
        return self.kept[path]

    def __call__(self, path: str) -> Table:
        return self.kept.pop(path) if path in self.kept else self.read(path)


def multilabel_delimiter(data_args, model_args, tables: KeptTables) -> tuple[bool, str | None]:
    """Whether the task is multi-label, and the label delimiter: --label_delimiter; else the first file with a label
    column (training, validation, test) holding JSON lists; else a checkpoint fine-tuned multi-label (its stored
    delimiter)."""
    if getattr(data_args, "label_delimiter", None) is not None:
        return True, data_args.label_delimiter
    config = load_config(model_args) if model_args is not None else None
    stored = getattr(config, DELIMITER_KEY, None)
    for path in (getattr(data_args, f"{split}_file", None) for split in ("train", "validation", "test")):
        if not path:
            continue
        table = tables.peek(path)
        if data_args.label_column_name in table.columns():
            if any(parsed_label_list(cell) is not None for cell in table.cells(data_args.label_column_name)):
                return True, stored
            break
    return (True, stored) if config is not None and is_multilabel_config(config) else (False, None)


def classify_task(data_args, model_args=None) -> SequenceTask:
    """The task for `data_args` (run_classify.py's ClassificationDataArguments): a classification (multi-label when
    the labels are lists, see multilabel_delimiter; `model_args` names the checkpoint), or with --do_regression a
    regression."""

    def make_preprocessor(config):
        clean = resolve_regex_transformations(data_args.regex_transformations, config)
        note = ("Input is cleaned with the regex transformations stored in `config.bertft_regex_transformations` "
                "before tokenization; apply them yourself when calling `pipeline`." if clean else "")
        return clean, note

    names = getattr(data_args, "column_names", None)
    tables = KeptTables(partial(read_table, data_format=data_args.data_format, tsv_quoting=data_args.tsv_quoting,
                                column_names=[name.strip() for name in names.split(",")] if names else None))
    common = dict(rename_labels=data_args.rename_labels, positive_label=data_args.positive_label,
                  text_fallbacks=("sentence",) if data_args.text_column_name == "text" else (),
                  pair_column=data_args.text_pair_column_name, guess_pairs=True,
                  text_joiner=data_args.text_column_delimiter)
    columns = ("classify", tables, data_args.text_column_name, data_args.label_column_name, make_preprocessor)
    if getattr(data_args, "do_regression", False):
        return RegressionTask(*columns, **common)
    multilabel, delimiter = multilabel_delimiter(data_args, model_args, tables)
    if multilabel:
        return MultiLabelTask(*columns, **common, label_delimiter=delimiter,
                              fixed_threshold=getattr(data_args, "multilabel_threshold", None))
    return SequenceTask(*columns, **common)
