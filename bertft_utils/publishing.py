"""What leaves the machine: the model card, the learning curve, and the push to the Hub without the data's texts."""

from __future__ import annotations

import contextlib
import logging
import os

from transformers import TrainingArguments
from transformers import trainer as transformers_trainer

from .arguments import EMBEDDED_MODEL_ALIAS, ModelArguments
from .model_card import ModelCardFacts
from .reporting import plot_learning_curve

logger = logging.getLogger(__name__)

EMBEDDED_MODEL_HUB_NAME = "sentence-transformers/all-MiniLM-L6-v2"

# Files that hold the data's texts: never pushed to the Hub unless --push_data_files (a private test set must not
# become public by accident).
DATA_TEXT_FILES = ("predictions.tsv", "predictions.txt", "text_predictions.txt", "answers.tsv", "data_report.json",
                   "*.log")


@contextlib.contextmanager
def data_texts_kept_back(args):
    """Make every Trainer upload ignore DATA_TEXT_FILES (unless --push_data_files).

    Trainer hard-codes its upload patterns, so the Hub client it calls is wrapped for the duration of the push."""
    if getattr(args, "push_data_files", False):
        yield
        return
    original = transformers_trainer.hf_api

    class _Filtered:
        def __init__(self, api):
            self._api = api

        def __getattr__(self, name):
            return getattr(self._api, name)

        def upload_folder(self, **kwargs):
            kwargs["ignore_patterns"] = [*(kwargs.get("ignore_patterns") or []), *DATA_TEXT_FILES]
            return self._api.upload_folder(**kwargs)

    transformers_trainer.hf_api = lambda: _Filtered(original())
    try:
        yield
    finally:
        transformers_trainer.hf_api = original


def finetuned_from(model_args: ModelArguments) -> str:
    """The base checkpoint's Hub name for the model card: the embedded model's, and a Hub cache snapshot's
    (`.../models--org--name/snapshots/<commit>`); any other local folder as given."""
    name = model_args.model_name_or_path
    if name == EMBEDDED_MODEL_ALIAS:
        return EMBEDDED_MODEL_HUB_NAME
    parts = os.path.normpath(os.path.abspath(name)).split(os.sep) if os.path.isdir(name) else []
    if len(parts) >= 3 and parts[-2] == "snapshots" and parts[-3].startswith("models--"):
        return parts[-3].removeprefix("models--").replace("--", "/")
    return name


def finish(trainer, training_args: TrainingArguments, card: ModelCardFacts, curve_metric: str) -> None:
    """Learning-curve plot, then (after training) the model card and, with --push_to_hub, the push."""
    if trainer.is_world_process_zero():
        plot_learning_curve(trainer.state.log_history, os.path.join(training_args.output_dir, "learning_curve.png"),
                            curve_metric)
    trainer.card = card
    if not training_args.do_train:
        return
    if training_args.push_to_hub:
        trainer.push_to_hub(commit_message=f"bertft {card.script}: fine-tuned {card.base_model}")
    else:
        trainer.create_model_card()
