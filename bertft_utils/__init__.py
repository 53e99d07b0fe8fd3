"""Shared building blocks of the bertft task scripts (run_classify.py, ...)."""

from bertft_utils.config.arguments import BertftTrainingArguments, DataArguments, ModelArguments, parse_arguments
from bertft_utils.data.labels import apply_label_maps, check_unseen_labels, sort_labels
from bertft_utils.data.readers import DataFormatError, Table, read_table
from bertft_utils.data.splits import stratified_split
from bertft_utils.modeling.loading import embedded_model_path, load_config, load_model, load_tokenizer

__all__ = [
    "BertftTrainingArguments",
    "DataArguments",
    "DataFormatError",
    "ModelArguments",
    "Table",
    "apply_label_maps",
    "check_unseen_labels",
    "embedded_model_path",
    "load_config",
    "load_model",
    "load_tokenizer",
    "parse_arguments",
    "read_table",
    "sort_labels",
    "stratified_split",
]
__version__ = "0.1.0"
