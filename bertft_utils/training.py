"""The train/evaluate/save flow every task shares, on top of `transformers.Trainer`."""

from __future__ import annotations

import logging
import os
import sys

import datasets
import numpy as np
import transformers
from torch.utils.data import SequentialSampler
from transformers import Trainer, TrainingArguments
from transformers.trainer_utils import get_last_checkpoint

from .arguments import EMBEDDED_MODEL_ALIAS, ModelArguments
from .reporting import announce, plot_learning_curve

logger = logging.getLogger(__name__)

EMBEDDED_MODEL_HUB_NAME = "sentence-transformers/all-MiniLM-L6-v2"


def setup_logging(training_args: TrainingArguments) -> None:
    """Library logging as in the Hugging Face examples: info on the main process, warnings elsewhere."""
    logging.basicConfig(
        format="%(asctime)s - %(levelname)s - %(name)s - %(message)s",
        datefmt="%m/%d/%Y %H:%M:%S",
        handlers=[logging.StreamHandler(sys.stdout)],
    )
    level = training_args.get_process_log_level()
    ours = logging.INFO if training_args.should_log else logging.WARNING
    logging.getLogger("bertft_utils").setLevel(ours)
    logging.getLogger("__main__").setLevel(ours)
    datasets.utils.logging.set_verbosity(level)
    transformers.utils.logging.set_verbosity(level)
    transformers.utils.logging.enable_default_handler()
    transformers.utils.logging.enable_explicit_format()
    logger.warning(
        "Process rank %s, device %s, n_gpu %s, distributed %s, bf16 %s",
        training_args.process_index, training_args.device, training_args.n_gpu,
        training_args.parallel_mode.value == "distributed", training_args.bf16,
    )


def last_checkpoint(training_args: TrainingArguments) -> str | None:
    """The checkpoint to resume from: --resume_from_checkpoint, else the newest one in output_dir when training."""
    if training_args.resume_from_checkpoint:
        return training_args.resume_from_checkpoint
    if training_args.do_train and os.path.isdir(training_args.output_dir):
        checkpoint = get_last_checkpoint(training_args.output_dir)
        if checkpoint is not None:
            logger.info("Resuming from %s (delete it or change --output_dir to start afresh).", checkpoint)
        return checkpoint
    return None


class BertftTrainer(Trainer):
    """Trainer with an optional separate learning rate for the word embeddings and a richer model card."""

    def __init__(self, *args, embedding_learning_rate: float | None = None, card_sections: list[str] | None = None,
                 **kwargs):
        super().__init__(*args, **kwargs)
        self.embedding_learning_rate = embedding_learning_rate
        self.card_sections = card_sections if card_sections is not None else []

    def create_optimizer(self, model=None):
        optimizer = super().create_optimizer(model)
        if self.embedding_learning_rate is None:
            return optimizer
        embedding = (model or self.model).get_input_embeddings().weight
        for group in list(optimizer.param_groups):
            if any(p is embedding for p in group["params"]):
                group["params"] = [p for p in group["params"] if p is not embedding]
                optimizer.add_param_group({**{k: v for k, v in group.items() if k != "params"},
                                           "params": [embedding], "lr": self.embedding_learning_rate,
                                           "initial_lr": self.embedding_learning_rate})
                logger.info("Word embeddings train at learning rate %g.", self.embedding_learning_rate)
                break
        return optimizer

    def _get_eval_sampler(self, eval_dataset):
        # transformers 5 also length-groups evaluation/prediction under train_sampling_strategy="group_by_length",
        # which returns predictions in a shuffled order; we need them in dataset order (see predict_in_order).
        if eval_dataset is not None and self.args.world_size <= 1:
            return SequentialSampler(eval_dataset)
        return None

    def create_model_card(self, *args, **kwargs) -> None:
        super().create_model_card(*args, **kwargs)
        if not self.is_world_process_zero() or not self.card_sections:
            return
        path = os.path.join(self.args.output_dir, "README.md")
        with open(path, "a", encoding="utf-8") as handle:
            handle.write("\n\n" + "\n\n".join(self.card_sections) + "\n")
        announce(path)


def predict_in_order(trainer: Trainer, dataset: datasets.Dataset,
                     length_column: str = "input_ids") -> tuple[np.ndarray, dict]:
    """`trainer.predict` on examples sorted by length (less padding), with predictions back in dataset order.

    Also returns the prediction metrics (`test_runtime`, `test_samples_per_second`)."""
    lengths = np.array([len(ids) for ids in dataset[length_column]])
    order = np.argsort(-lengths, kind="stable")
    compute_metrics, trainer.compute_metrics = trainer.compute_metrics, None  # it scores validation, not these
    try:
        output = trainer.predict(dataset.select(order.tolist()), metric_key_prefix="test")
    finally:
        trainer.compute_metrics = compute_metrics
    predictions = output.predictions[0] if isinstance(output.predictions, tuple) else output.predictions
    restored = np.empty_like(predictions)
    restored[order] = predictions
    timing = {k: v for k, v in output.metrics.items() if k in ("test_runtime", "test_samples_per_second")}
    return restored, timing


def require_splits(training_args: TrainingArguments, available) -> None:
    """--do_train/--do_eval/--do_predict each need their split."""
    for flag, split in (("do_train", "train"), ("do_eval", "validation"), ("do_predict", "test")):
        if getattr(training_args, flag) and split not in available:
            raise ValueError(f"--{flag} needs a {split} split: pass --{split}_file, or a --train_file to split.")


def evaluate_and_save(trainer: Trainer, num_examples: int) -> dict:
    """Validation metrics (eval_results.json); returns them without the eval_ prefix."""
    metrics = trainer.evaluate()
    metrics["eval_samples"] = num_examples
    save_split_metrics(trainer, "eval", metrics)
    return {k.removeprefix("eval_"): v for k, v in metrics.items()}


def finetuned_from(model_args: ModelArguments) -> str:
    """The checkpoint name for the model card (the Hub name of the embedded model, not its local folder)."""
    if model_args.model_name_or_path == EMBEDDED_MODEL_ALIAS:
        return EMBEDDED_MODEL_HUB_NAME
    return model_args.model_name_or_path


def train_and_save(trainer: Trainer, training_args: TrainingArguments, num_examples: int) -> dict:
    """Train (resuming if a checkpoint exists), save model + tokenizer + state, and save the train metrics."""
    result = trainer.train(resume_from_checkpoint=last_checkpoint(training_args))
    trainer.save_model()
    metrics = dict(result.metrics)
    metrics["train_samples"] = num_examples
    trainer.log_metrics("train", metrics)
    trainer.save_metrics("train", metrics)
    trainer.save_state()
    return metrics


def save_split_metrics(trainer: Trainer, split: str, metrics: dict) -> None:
    """Log and save `<split>_results.json` (and merge into all_results.json)."""
    trainer.log_metrics(split, metrics)
    trainer.save_metrics(split, metrics)


def finish(trainer: BertftTrainer, model_args: ModelArguments, training_args: TrainingArguments, tasks: str,
           dataset_name: str | None, card_sections: list[str], curve_metric: str) -> None:
    """Learning-curve plot, then (after training) the model card and the push to the Hub."""
    if trainer.is_world_process_zero():
        plot_learning_curve(trainer.state.log_history, os.path.join(training_args.output_dir, "learning_curve.png"),
                            curve_metric)
    trainer.card_sections = card_sections
    if training_args.do_train:
        publish(trainer, model_args, training_args, tasks, dataset_name)


def publish(trainer: BertftTrainer, model_args: ModelArguments, training_args: TrainingArguments,
            tasks: str, dataset_name: str | None, language: str | None = None) -> None:
    """Write the model card, and push to the Hub when --push_to_hub was given."""
    kwargs = {"finetuned_from": finetuned_from(model_args), "tasks": tasks}
    if dataset_name:
        kwargs["dataset"] = dataset_name
    if language:
        kwargs["language"] = language
    if training_args.push_to_hub:
        trainer.push_to_hub(**kwargs)
    else:
        trainer.create_model_card(**kwargs)
