"""Our Trainer and the train/evaluate/predict/save steps every task takes with it."""

from __future__ import annotations

import logging
import os
from contextlib import ExitStack

import datasets
import numpy as np
import torch
from torch.utils.data import SequentialSampler
from transformers import Trainer, TrainingArguments
from transformers.trainer_pt_utils import LengthGroupedSampler

from bertft_utils.modeling.crf import SENTENCE_EDGES
from bertft_utils.runtime.length_order import in_dataset_order, longest_first
from bertft_utils.training.dropout_masks import sixteen_bit_dropout
from bertft_utils.training.embedding_gradient import kept_embedding_gradient

logger = logging.getLogger(__name__)


def token_counts(dataset: datasets.Dataset, column: str = "input_ids") -> np.ndarray:
    """Each example's length in tokens (its list in `column`), read from the Arrow column, not row by row."""
    import pyarrow.compute as pc

    return pc.list_value_length(dataset.with_format("arrow")[column]).to_numpy(zero_copy_only=False)


class ArrayLengthGroupedSampler(LengthGroupedSampler):
    """Hugging Face's LengthGroupedSampler with its order computed by numpy: the same indices as
    `get_length_grouped_indices`, whose Python sorts took seconds a million examples at the start of every epoch."""

    def __iter__(self):
        return iter(length_grouped_indices(np.asarray(self.lengths), self.batch_size, self.generator))


def length_grouped_indices(lengths: np.ndarray, batch_size: int, generator=None) -> list[int]:
    """`get_length_grouped_indices`: the same torch permutation, cut into mega-batches (50 batches, or a quarter of
    the data), each sorted longest first (ties in permutation order, as Python's stable sort leaves them), and the
    mega-batch holding the longest example swapped to the front."""
    if not len(lengths):
        return []
    mega_batch = (min(len(lengths) // (batch_size * 4), 50) or 1) * batch_size
    indices = torch.randperm(len(lengths), generator=generator).numpy()
    grouped = indices[np.lexsort((-lengths[indices], np.arange(len(indices)) // mega_batch))]  # lexsort is stable
    firsts = np.arange(0, len(grouped), mega_batch)
    longest = firsts[torch.argmax(torch.tensor(lengths[grouped[firsts]])).item()]
    grouped[0], grouped[longest] = grouped[longest], grouped[0]
    return grouped.tolist()


class BertftTrainer(Trainer):
    """Trainer with optional learning rates of their own for the word embeddings and the CRF, predictions in dataset
    order, the CRF's sentence edges passed through, and on a CPU the training shortcuts of dropout_masks.py and
    embedding_gradient.py (publishing.hub.PublishingTrainer adds the card and pushes)."""

    def __init__(self, *args, embedding_learning_rate: float | None = None,
                 embedding_learning_rate_factor: float | None = None, crf_learning_rate: float | None = None,
                 dropout_masks: str = "torch", **kwargs):
        super().__init__(*args, **kwargs)
        self.embedding_learning_rate = embedding_learning_rate  # given by the user: fixed
        self.embedding_learning_rate_factor = embedding_learning_rate_factor  # else a multiple of learning_rate
        self.crf_learning_rate = crf_learning_rate
        self.dropout_masks = dropout_masks  # "torch" or "16bit" (chosen by dropout_masks.choose_masks)
        self.training_shortcuts: ExitStack | None = None  # open from the first training step to the end of train()

    def train(self, *args, **kwargs):
        try:
            return super().train(*args, **kwargs)
        finally:  # the model is saved, evaluated and exported as Hugging Face built it
            if self.training_shortcuts is not None:
                self.training_shortcuts.close()
                self.training_shortcuts = None

    def training_step(self, model, inputs, num_items_in_batch=None):
        if self.training_shortcuts is None:  # the first step: self.model is now the model trained (model_init's)
            self.training_shortcuts = ExitStack()
            if self.dropout_masks == "16bit":
                self.training_shortcuts.enter_context(sixteen_bit_dropout(self.model))
            if self.args.world_size == 1 and self.args.device.type == "cpu":
                self.training_shortcuts.enter_context(kept_embedding_gradient(self.model))
        return super().training_step(model, inputs, num_items_in_batch)

    def create_optimizer(self, model=None):
        optimizer = super().create_optimizer(model)
        model = model or self.model
        rate = self.word_embedding_learning_rate()
        if rate is not None:
            own_group(optimizer, [model.get_input_embeddings().weight], rate)
            logger.info("Word embeddings train at learning rate %g.", rate)
        crf = getattr(model, "crf", None)
        if crf is not None:
            learning_rate = self.crf_learning_rate or 100 * self.args.learning_rate
            own_group(optimizer, list(crf.parameters()), learning_rate, weight_decay=0.0)
            logger.info("CRF scores train at learning rate %g, without weight decay.", learning_rate)
        return optimizer

    def word_embedding_learning_rate(self) -> float | None:
        """The word embeddings' own rate: the user's, else the factor times this run's (or trial's) learning rate."""
        if self.embedding_learning_rate is not None:
            return self.embedding_learning_rate
        if self.embedding_learning_rate_factor is not None:
            return self.embedding_learning_rate_factor * self.args.learning_rate
        return None

    def _set_signature_columns_if_needed(self):
        super()._set_signature_columns_if_needed()
        if getattr(self.model, "crf", None) is not None and SENTENCE_EDGES not in self._signature_columns:
            self._signature_columns.append(SENTENCE_EDGES)  # the CRF's input, taken off by its forward pre-hook

    def _get_train_sampler(self, train_dataset=None):
        # Hugging Face's LengthGroupedSampler reads every example as a Python row to measure it (minutes for millions)
        # unless a length column survives _remove_unused_columns; ours come from the Arrow column at once.
        dataset = train_dataset if train_dataset is not None else self.train_dataset
        name = self.processing_class.model_input_names[0] if self.processing_class is not None else "input_ids"
        if (self.args.train_sampling_strategy != "group_by_length" or not isinstance(dataset, datasets.Dataset)
                or name not in dataset.column_names or self.args.length_column_name in dataset.column_names):
            return super()._get_train_sampler(train_dataset)
        return ArrayLengthGroupedSampler(self.args.train_batch_size * self.args.gradient_accumulation_steps,
                                         dataset=dataset, lengths=token_counts(dataset, name), model_input_name=name)

    def _get_eval_sampler(self, eval_dataset):
        # transformers 5 also length-groups evaluation/prediction under train_sampling_strategy="group_by_length",
        # which returns predictions in a shuffled order; we need them in dataset order (see predict_in_order).
        if eval_dataset is not None and self.args.world_size <= 1:
            return SequentialSampler(eval_dataset)
        return None


def own_group(optimizer, parameters: list, learning_rate: float, weight_decay: float | None = None) -> None:
    """Move `parameters` out of the optimizer's groups into one group of their own with this learning rate (and
    weight decay, when given; else that of the group they came from)."""
    moving = {id(p) for p in parameters}
    template = None
    for group in optimizer.param_groups:
        kept = [p for p in group["params"] if id(p) not in moving]
        if len(kept) != len(group["params"]):
            template = template or group
            group["params"] = kept
    if template is None:
        return
    optimizer.param_groups[:] = [group for group in optimizer.param_groups if group["params"]]
    settings = {k: v for k, v in template.items() if k != "params"}
    settings.update(lr=learning_rate, initial_lr=learning_rate)
    if weight_decay is not None:
        settings["weight_decay"] = weight_decay
    optimizer.add_param_group({**settings, "params": parameters})


def predict_in_order(trainer: Trainer, dataset: datasets.Dataset,
                     length_column: str = "input_ids") -> tuple[np.ndarray, dict]:
    """`trainer.predict` on examples sorted by length (less padding), with predictions back in dataset order.

    Also returns the prediction metrics (`test_runtime`, `test_samples_per_second`)."""
    order = longest_first(token_counts(dataset, length_column).tolist())
    compute_metrics, trainer.compute_metrics = trainer.compute_metrics, None  # it scores validation, not these
    prepared = getattr(trainer.accelerator, "_dataloaders", [])
    kept = len(prepared)
    try:
        output = trainer.predict(dataset.select(order.tolist()), metric_key_prefix="test")
    finally:
        trainer.compute_metrics = compute_metrics
        # accelerate keeps every DataLoader it prepares, and with it the dataset: a raw text predicted piece by piece
        # would keep every piece (memory growing with the file). A prediction's loader is never used again.
        del prepared[kept:]
    predictions = output.predictions[0] if isinstance(output.predictions, tuple) else output.predictions
    restored = in_dataset_order(order, predictions)
    timing = {k: v for k, v in output.metrics.items() if k in ("test_runtime", "test_samples_per_second")}
    return restored, timing


def evaluate_and_save(trainer: Trainer, num_examples: int, facts: dict | None = None) -> dict:
    """Validation metrics (eval_results.json, with `facts` such as the precision); returns them without the eval_
    prefix."""
    metrics = trainer.evaluate()
    metrics["eval_samples"] = num_examples
    metrics.update({f"eval_{key}": value for key, value in (facts or {}).items()})
    save_split_metrics(trainer, "eval", metrics)
    return {k.removeprefix("eval_"): v for k, v in metrics.items()}


def train_and_save(trainer: Trainer, training_args: TrainingArguments, num_examples: int,
                   resume_from: str | None, facts: dict | None = None) -> dict:
    """Train (resuming from `resume_from`, see checkpoints.py), save model + tokenizer + state and the metrics."""
    result = trainer.train(resume_from_checkpoint=resume_from)
    save_final_model(trainer, training_args.output_dir)
    metrics = dict(result.metrics)
    metrics["train_samples"] = num_examples
    metrics.update({f"train_{key}": value for key, value in (facts or {}).items()})
    trainer.log_metrics("train", metrics)
    trainer.save_metrics("train", metrics)
    trainer.save_state()
    return metrics


def _file_stamps(folder: str) -> dict[str, tuple[int, int]]:
    """(size, modification time) of every file directly in `folder`."""
    if not os.path.isdir(folder):
        return {}
    return {entry.name: (entry.stat().st_size, entry.stat().st_mtime_ns) for entry in os.scandir(folder)
            if entry.is_file()}


def save_final_model(trainer: Trainer, output_dir: str) -> None:
    """Save model + tokenizer; if that fails for lack of room (disk full, file-size limit), remove the files this
    save wrote (and only those), so that no later run takes a broken model for a finished one, and say what is left.

    Only I/O failures are caught: any other error is a bug and keeps its traceback."""
    from safetensors import SafetensorError  # safetensors reports the same I/O failure with its own type

    before = _file_stamps(output_dir)
    try:
        trainer.save_model(_internal_call=True)  # pushed once, with its card, by finish()
    except (OSError, SafetensorError) as error:
        written = sorted(name for name, stamp in _file_stamps(output_dir).items() if before.get(name) != stamp)
        for name in written:
            os.remove(os.path.join(output_dir, name))
        reason = getattr(error, "strerror", None) or str(error).splitlines()[-1]
        checkpoints = sorted((name for name in os.listdir(output_dir)
                              if name.startswith("checkpoint-") and name.removeprefix("checkpoint-").isdigit()),
                             key=lambda name: int(name.removeprefix("checkpoint-")))
        strategy = getattr(trainer.args.save_strategy, "value", trainer.args.save_strategy)
        after = (f"run the same command again: training resumes from {checkpoints[-1]}." if checkpoints else
                 f"run the same command again: no checkpoint was saved (--save_strategy {strategy}), so there is "
                 "nothing to resume from and it trains afresh.")
        raise OSError(f"saving the model to {output_dir} failed ({reason}); the {len(written)} half-written files of "
                      f"this save were removed ({', '.join(written) or 'none'}). Free disk space (or raise the "
                      f"file-size limit), then {after}") from None


def save_split_metrics(trainer: Trainer, split: str, metrics: dict) -> None:
    """Log and save `<split>_results.json` (and merge into all_results.json)."""
    trainer.log_metrics(split, metrics)
    trainer.save_metrics(split, metrics)
