"""What leaves the machine: the model card, the learning curve, and the push to the Hub without the data's texts."""

from __future__ import annotations

import contextlib
import logging
import os

from transformers import TrainingArguments
from transformers import trainer as transformers_trainer

from bertft_utils.config.arguments import EMBEDDED_MODEL_ALIAS, ModelArguments
from bertft_utils.evaluation.html_report import has_test_predictions, write_run_report
from bertft_utils.evaluation.plots import plot_learning_curve
from bertft_utils.files import EARLIER_RUN_PREFIX, PARTIAL_SUFFIX, announce
from bertft_utils.publishing.model_card import ModelCardFacts, write_model_card
from bertft_utils.training.trainer import BertftTrainer

logger = logging.getLogger(__name__)

EMBEDDED_MODEL_HUB_NAME = "sentence-transformers/all-MiniLM-L6-v2"

# Files that hold the data's texts: never pushed to the Hub unless --push_data_files (a private test set must not
# become public by accident).
DATA_TEXT_FILES = ("predictions.tsv", "predictions.txt", "text_predictions.txt", "*predictions_spans.json",
                   "answers.tsv", "*report.html", "data_report.json", "*.log", f"*{PARTIAL_SUFFIX}")
# An earlier run's outputs set aside in the folder (files.set_aside_earlier_outputs): never pushed, even with
# --push_data_files (they are not this model's).
EARLIER_RUNS = (f"{EARLIER_RUN_PREFIX}*",)


@contextlib.contextmanager
def data_texts_kept_back(args):
    """Make every Trainer upload ignore DATA_TEXT_FILES (unless --push_data_files) and an earlier run's outputs.

    Trainer hard-codes its upload patterns, so the Hub client it calls is wrapped for the duration of the push."""
    kept_back = [*EARLIER_RUNS, *([] if getattr(args, "push_data_files", False) else DATA_TEXT_FILES)]
    original = transformers_trainer.hf_api

    class _Filtered:
        def __init__(self, api):
            self._api = api

        def __getattr__(self, name):
            return getattr(self._api, name)

        def upload_folder(self, **kwargs):
            kwargs["ignore_patterns"] = [*(kwargs.get("ignore_patterns") or []), *kept_back]
            return self._api.upload_folder(**kwargs)

    transformers_trainer.hf_api = lambda: _Filtered(original())
    try:
        yield
    finally:
        transformers_trainer.hf_api = original


class PublishingTrainer(BertftTrainer):
    """BertftTrainer whose model card is ours (once the run has described itself in `card`) and whose pushes leave
    the data's texts out."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.card: ModelCardFacts | None = None

    def create_model_card(self, *args, **kwargs) -> None:
        """Our model card (see model_card.py) when the run has described itself, else Trainer's draft."""
        if self.card is None:
            return super().create_model_card(*args, **kwargs)
        if self.is_world_process_zero():
            repo_id = (self.hub_model_id or self.args.hub_model_id) if self.args.push_to_hub else None
            announce(write_model_card(self.args.output_dir, self.card, repo_id, self.args))
        return None

    def push_to_hub(self, *args, **kwargs):
        with data_texts_kept_back(self.args):
            return super().push_to_hub(*args, **kwargs)

    def _push_from_checkpoint(self, checkpoint_folder: str) -> None:
        with data_texts_kept_back(self.args):
            return super()._push_from_checkpoint(checkpoint_folder)


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


def finish(trainer: PublishingTrainer, training_args: TrainingArguments, card: ModelCardFacts,
           curve_metric: str) -> None:
    """Learning-curve plot, report.html (with --do_predict), then (after training) the model card and, with
    --push_to_hub, the push."""
    if trainer.is_world_process_zero():
        plot_learning_curve(trainer.state.log_history, os.path.join(training_args.output_dir, "learning_curve.png"),
                            curve_metric)
        if training_args.do_predict and training_args.html_report and has_test_predictions(training_args.output_dir):
            write_run_report(training_args.output_dir)
    trainer.card = card
    if not training_args.do_train:
        return
    if training_args.push_to_hub:
        trainer.push_to_hub(commit_message=f"bertft {card.script}: fine-tuned {card.base_model}")
    else:
        trainer.create_model_card()
