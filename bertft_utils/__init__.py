"""Shared building blocks of the bertft task scripts (run_classify.py, run_ner.py, run_qa_label.py), grouped by
concern, lowest first: `config` (arguments), `data` (readers, splits, labels, tags), `runtime` (precision, ONNX
Runtime), `modeling` (loading, vocabulary, CRF), `evaluation` (metrics, reports), `training` (Trainer, checkpoints,
search), `publishing` (model card, Hub) and `tasks` (the one flow and each task); `testing` holds offline
look-alikes of Hub checkpoints. docs/layout.md says where each step happens.

The names below are imported on first use, so that `import bertft_utils.<group>...` costs only what it needs."""

from __future__ import annotations

import importlib

_EXPORTS = {
    "BertftTrainingArguments": "bertft_utils.config.arguments",
    "DataArguments": "bertft_utils.config.arguments",
    "ModelArguments": "bertft_utils.config.arguments",
    "parse_arguments": "bertft_utils.config.arguments",
    "apply_label_maps": "bertft_utils.data.labels",
    "check_unseen_labels": "bertft_utils.data.labels",
    "sort_labels": "bertft_utils.data.labels",
    "embedded_model_path": "bertft_utils.modeling.loading",
    "load_config": "bertft_utils.modeling.loading",
    "load_model": "bertft_utils.modeling.loading",
    "load_tokenizer": "bertft_utils.modeling.loading",
    "DataFormatError": "bertft_utils.data.readers",
    "Table": "bertft_utils.data.readers",
    "read_table": "bertft_utils.data.readers",
    "stratified_split": "bertft_utils.data.splits",
    "run_task": "bertft_utils.tasks.flow",
}
__all__ = sorted(_EXPORTS)
__version__ = "0.1.0"


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'bertft_utils' has no attribute {name!r}")
