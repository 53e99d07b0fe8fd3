"""Each argument declares once what it changes (config/effects.py), and the checkpoint fingerprint and the search's
best configuration follow the declarations."""

from __future__ import annotations

import dataclasses

import pytest
from test_arguments import load_script

from bertft_utils.config.arguments import BertftTrainingArguments, DataArguments, ModelArguments
from bertft_utils.config.effects import EFFECTS, OUTPUT, SECRET, TRAINING, effects_of, names_with
from bertft_utils.training.checkpoints import run_fingerprint

SCRIPTS = ("run_classify", "run_ner", "run_qa_label")
# The fingerprint's settings before the declarations (checkpoints.TRAINING_FIELDS and IGNORED_FIELDS): a checkpoint
# written then must still be resumable, so run_classify's fingerprint keeps exactly these names.
CLASSIFY_FINGERPRINT = {
    "model_name_or_path", "config_name", "tokenizer_name", "model_revision", "trust_remote_code",
    "ignore_mismatched_sizes", "load_as", "add_unk_chars", "embedding_learning_rate", "mlm_warmup_epochs",
    "mlm_probability", "mlm_warmup_trains", "train_file", "validation_file", "data_format", "tsv_quoting",
    "validation_split_percentage", "test_split_percentage", "split_seed", "split_file", "new_split",
    "max_seq_length", "pad_to_max_length", "max_train_samples", "allow_unseen_labels", "positive_label",
    "text_column_name", "label_column_name", "rename_labels", "regex_transformations",
    "learning_rate", "weight_decay", "adam_beta1", "adam_beta2", "adam_epsilon", "max_grad_norm", "num_train_epochs",
    "max_steps", "lr_scheduler_type", "warmup_steps", "warmup_ratio", "per_device_train_batch_size",
    "gradient_accumulation_steps", "seed", "data_seed", "bf16", "fp16", "optim", "train_sampling_strategy",
    "label_smoothing_factor", "world_size"}


def own_fields(cls) -> list[dataclasses.Field]:
    """The fields a class of ours declares itself (not those it inherits from transformers)."""
    return [f for f in dataclasses.fields(cls) if f.name in cls.__dict__.get("__annotations__", {})]


@pytest.mark.parametrize("script", SCRIPTS)
def test_every_argument_of_ours_declares_its_effects(script):
    classes = [ModelArguments, DataArguments, BertftTrainingArguments,
               *load_script(script).ARGUMENT_CLASSES[1].__mro__[:-1]]
    undeclared = [f"{cls.__name__}.{f.name}" for cls in classes if dataclasses.is_dataclass(cls)
                  for f in own_fields(cls) if not set(f.metadata.get("affects") or {"none"}) <= set(EFFECTS)]
    assert undeclared == []


def arguments(tmp_path, **training):
    classify = load_script("run_classify")
    return (ModelArguments(), classify.ClassificationDataArguments(),
            BertftTrainingArguments(output_dir=str(tmp_path), report_to=[], **training))


def test_the_fingerprint_holds_the_declared_arguments_and_no_others(tmp_path):
    assert set(run_fingerprint(*arguments(tmp_path))["settings"]) == CLASSIFY_FINGERPRINT


def test_output_only_arguments_leave_the_fingerprint_alone(tmp_path):
    base = run_fingerprint(*arguments(tmp_path))["hash"]
    assert run_fingerprint(*arguments(tmp_path, logging_steps=3, per_device_eval_batch_size=7))["hash"] == base
    assert run_fingerprint(*arguments(tmp_path, learning_rate=1e-3))["hash"] != base


def test_transformers_fields_default_to_output_and_secrets_are_named():
    assert effects_of(BertftTrainingArguments, "logging_steps") == {OUTPUT}
    assert effects_of(BertftTrainingArguments, "learning_rate") == {TRAINING}
    assert effects_of(BertftTrainingArguments, "hub_token") == {SECRET}
    assert {"token", "hub_token", "hp_search_storage"} <= {
        *names_with(ModelArguments, SECRET), *names_with(BertftTrainingArguments, SECRET)}


def test_an_argument_added_later_enters_the_fingerprint_only_when_set(tmp_path):
    """Checkpoints fingerprinted before an argument existed still resume while it keeps its default."""
    from bertft_utils.config.effects import affects, left_out_at_default

    assert affects(TRAINING, added_later=True)["added_later"] is True
    model, data, training = arguments(tmp_path)
    data.class_weights = "balanced"
    assert not left_out_at_default(data, "class_weights")
    assert run_fingerprint(model, data, training)["settings"]["class_weights"] == "balanced"
    assert run_fingerprint(model, data, training)["hash"] != run_fingerprint(*arguments(tmp_path))["hash"]


def test_every_transformers_field_counts_unless_declared_output_only():
    """Fields once missing from a list of "fields that matter" changed numbers while runs were skipped as unchanged;
    a field a later transformers adds must count too."""
    for name in ("metric_for_best_model", "greater_is_better", "eval_steps", "lr_scheduler_kwargs",
                 "neftune_noise_alpha", "dataloader_drop_last", "load_best_model_at_end"):
        assert effects_of(BertftTrainingArguments, name) == {TRAINING}, name
    assert effects_of(BertftTrainingArguments, "a_field_of_transformers_7") == {TRAINING}
    assert TRAINING in effects_of(BertftTrainingArguments, "auto_bf16")  # it chooses the precision
    assert effects_of(BertftTrainingArguments, "report_to") == {OUTPUT}


def test_a_newly_counted_transformers_field_enters_the_fingerprint_only_when_set(tmp_path):
    base = run_fingerprint(*arguments(tmp_path))
    assert "neftune_noise_alpha" not in base["settings"]  # at its default: earlier checkpoints still resume
    noisy = run_fingerprint(*arguments(tmp_path, neftune_noise_alpha=5.0))
    assert noisy["settings"]["neftune_noise_alpha"] == 5.0 and noisy["hash"] != base["hash"]
