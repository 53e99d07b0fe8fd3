"""Masked-LM warm-up: train the encoder on the task's own training texts before fine-tuning on the labels.

Added tokens (--add_unk_chars) start from random embeddings; a short masked-LM phase teaches them from context, which
the labels alone (mostly `O` in NER, one class per sentence in classification) teach poorly. transformers has the
pieces (masked-LM heads, DataCollatorForLanguageModeling, Trainer) but no "warm up the encoder of this task model"
step, so this module joins them.
"""

from __future__ import annotations

import dataclasses
import logging
import os

from datasets import Dataset
from transformers import AutoModelForMaskedLM, DataCollatorForLanguageModeling, PreTrainedModel, TrainingArguments

from bertft_utils.config.arguments import ModelArguments
from bertft_utils.errors import UsageError
from bertft_utils.files import write_json
from bertft_utils.training.trainer import BertftTrainer

logger = logging.getLogger(__name__)

MODEL_INPUTS = ("input_ids", "attention_mask", "token_type_ids")


def masked_lm_sharing_encoder(model: PreTrainedModel) -> PreTrainedModel:
    """A masked-LM model of the same architecture whose encoder *is* `model`'s (shared modules, not a copy).

    Its output layer is tied to the shared word embeddings; its transform layer starts untrained."""
    masked_lm = AutoModelForMaskedLM.from_config(model.config)
    prefix = masked_lm.base_model_prefix
    if not hasattr(masked_lm, prefix) or type(getattr(masked_lm, prefix)) is not type(model.base_model):
        raise UsageError(f"--mlm_warmup_epochs: no masked-LM head shares the encoder of {type(model).__name__}.")
    setattr(masked_lm, prefix, model.base_model)
    masked_lm.tie_weights()
    if masked_lm.get_output_embeddings().weight is not model.get_input_embeddings().weight:
        raise RuntimeError("--mlm_warmup_epochs: the masked-LM output layer is not tied to the word embeddings.")
    return masked_lm.to(model.device)


def warm_up_encoder(model: PreTrainedModel, tokenizer, train_dataset: Dataset | None, model_args: ModelArguments,
                    training_args: TrainingArguments, embedding_learning_rate: float | None,
                    resume_from: str | None = None) -> dict | None:
    """Run the masked-LM phase (when --mlm_warmup_epochs > 0 and training); `model` is updated in place.

    Returns the phase's metrics, also written to mlm_warmup_results.json in the output dir."""
    if not model_args.mlm_warmup_epochs or not training_args.do_train or train_dataset is None:
        return None
    if tokenizer.mask_token is None:
        raise UsageError("--mlm_warmup_epochs needs a tokenizer with a mask token.")
    if resume_from:  # the checkpoint's weights replace whatever a warm-up would do
        logger.info("Masked-LM warm-up skipped: training resumes from a checkpoint.")
        return None
    inputs = train_dataset.select_columns([c for c in MODEL_INPUTS if c in train_dataset.column_names])
    args = dataclasses.replace(
        training_args, output_dir=os.path.join(training_args.output_dir, "mlm_warmup"),
        num_train_epochs=model_args.mlm_warmup_epochs, max_steps=-1, eval_strategy="no", save_strategy="no",
        load_best_model_at_end=False, push_to_hub=False, do_eval=False, do_predict=False)
    masked_lm = masked_lm_sharing_encoder(model)
    frozen = []
    if model_args.mlm_warmup_trains == "embeddings":  # the pretrained layers keep their weights in this phase
        embeddings = model.get_input_embeddings().weight
        frozen = [p for p in model.base_model.parameters() if p.requires_grad and p is not embeddings]
        for parameter in frozen:
            parameter.requires_grad_(False)
    trainer = BertftTrainer(
        model=masked_lm, args=args, train_dataset=inputs, processing_class=tokenizer,
        data_collator=DataCollatorForLanguageModeling(tokenizer, mlm_probability=model_args.mlm_probability),
        embedding_learning_rate=embedding_learning_rate)
    logger.info("Masked-LM warm-up: %g epochs on %d training sequences, training %s.", model_args.mlm_warmup_epochs,
                len(inputs), model_args.mlm_warmup_trains)
    try:
        result = trainer.train()
    finally:
        for parameter in frozen:
            parameter.requires_grad_(True)
    metrics = {"epochs": model_args.mlm_warmup_epochs, "sequences": len(inputs), "trains": model_args.mlm_warmup_trains,
               "mlm_probability": model_args.mlm_probability, "train_loss": result.training_loss,
               "runtime_s": result.metrics.get("train_runtime"),
               "first_logged_loss": next((h["loss"] for h in trainer.state.log_history if "loss" in h), None)}
    logger.info("Masked-LM warm-up done: mean loss %.4f in %.0f s.", metrics["train_loss"], metrics["runtime_s"] or 0)
    if training_args.should_save:
        os.makedirs(training_args.output_dir, exist_ok=True)
        write_json(os.path.join(training_args.output_dir, "mlm_warmup_results.json"), metrics)
    del trainer, masked_lm
    return metrics
