"""What each argument changes, declared once: every field of our argument dataclasses names its effects in its
metadata (`"affects"`). The checkpoint fingerprint, the hyperparameter search's best_config.json, the split check
and the reproduction's same-settings check all read them from here, so that no list of "arguments that matter" can
drift from another."""

from __future__ import annotations

import dataclasses
import functools

TRAINING = "training"  # the weights a training run produces
SPLIT = "split"  # which records of --train_file go to train, validation and test
PREDICTION = "prediction"  # what is predicted or scored, not the weights
OUTPUT = "output"  # only what is written or shown, or how fast: never a number
SEARCH = "search"  # the hyperparameter search's own settings (not written into its best configuration)
SECRET = "secret"  # a credential: written nowhere
EFFECTS = (TRAINING, SPLIT, PREDICTION, OUTPUT, SEARCH, SECRET)

# transformers' own TrainingArguments fields cannot carry our metadata. Every field of theirs counts as changing the
# weights a run produces unless it is named here as output-only (logging, saving, where things go, speed knobs that
# leave every number as it is), so that a field a new transformers adds counts by default.
TRAINER_FIELDS_OUTPUT_ONLY = (
    "output_dir", "logging_strategy", "logging_steps", "logging_first_step", "log_on_each_node",
    "logging_nan_inf_filter", "include_num_input_tokens_seen", "log_level", "log_level_replica", "disable_tqdm",
    "report_to", "run_name", "project", "trackio_space_id", "trackio_bucket_id", "trackio_static_space_id",
    "save_total_limit", "save_on_each_node", "save_only_model", "enable_jit_checkpoint", "push_to_hub",
    "hub_private_repo", "hub_model_id", "hub_strategy", "hub_always_push", "hub_revision", "skip_memory_metrics",
    "dataloader_num_workers", "dataloader_pin_memory", "dataloader_persistent_workers", "dataloader_prefetch_factor",
    "dataloader_multiprocessing_context", "ddp_timeout", "ddp_bucket_cap_mb", "debug", "local_rank",
    "resume_from_checkpoint", "do_train", "do_eval", "do_predict", "torch_empty_cache_steps",
    "eval_accumulation_steps", "eval_do_concat_batches", "eval_use_gather_object")
TRAINER_SECRETS = ("hub_token",)
# The transformers fields the checkpoint fingerprint held before the rule above was inverted: a field outside these
# enters the fingerprint only when set (at its default it is left out), so that earlier checkpoints still resume.
TRAINER_FIELDS_FINGERPRINTED_FIRST = (
    "learning_rate", "weight_decay", "adam_beta1", "adam_beta2", "adam_epsilon", "max_grad_norm", "num_train_epochs",
    "max_steps", "lr_scheduler_type", "warmup_steps", "warmup_ratio", "per_device_train_batch_size",
    "gradient_accumulation_steps", "seed", "data_seed", "bf16", "fp16", "optim", "label_smoothing_factor",
    "world_size")


def affects(*effects: str, added_later: bool = False) -> dict:
    """The metadata entry of a field: `field(..., metadata={**affects(TRAINING, PREDICTION), "help": ...})`.

    `added_later`: a field added after checkpoints were first fingerprinted; at its default it is left out of the
    fingerprint, so that those checkpoints still resume."""
    unknown = [e for e in effects if e not in EFFECTS]
    if unknown or not effects:
        raise ValueError(f"effects must be some of {EFFECTS}, got {effects}")
    return {"affects": frozenset(effects), **({"added_later": True} if added_later else {})}


def left_out_at_default(arguments, name: str) -> bool:
    """Whether argument `name` is left out of the fingerprint at its default value: an `added_later` field of ours,
    or a transformers field counted since the rule was inverted (not in TRAINER_FIELDS_FINGERPRINTED_FIRST)."""
    for item in dataclasses.fields(arguments):
        if item.name != name:
            continue
        if "affects" in item.metadata:
            return bool(item.metadata.get("added_later")) and getattr(arguments, name) == item.default
        if name in TRAINER_FIELDS_FINGERPRINTED_FIRST:
            return False
        return getattr(arguments, name) == getattr(_defaults(type(arguments)), name)
    return False


@functools.cache
def _defaults(kind: type):
    """The arguments of a class as they are when nothing is given (transformers' __post_init__ fills some in)."""
    return kind()


def effects_of(arguments, name: str) -> frozenset[str]:
    """The declared effects of argument `name` of the dataclass (or instance) `arguments`: its metadata's; for a
    transformers field, output only when TRAINER_FIELDS_OUTPUT_ONLY names it, secret for a token, else training."""
    for item in dataclasses.fields(arguments):
        if item.name == name and "affects" in item.metadata:
            return item.metadata["affects"]
    if name in TRAINER_SECRETS or name.endswith("_token"):
        return frozenset({SECRET})
    if name in TRAINER_FIELDS_OUTPUT_ONLY:
        return frozenset({OUTPUT})
    return frozenset({TRAINING})  # counts unless declared output-only


def secret_names(arguments) -> list[str]:
    """The arguments of `arguments` that hold a credential: declared SECRET, and any transformers field whose name
    ends in `_token` (the rule by which `TrainingArguments.to_dict` redacts, so that a field added later counts)."""
    return [name for name in argument_names(arguments)
            if SECRET in effects_of(arguments, name) or name.endswith("_token")]


def argument_names(arguments) -> list[str]:
    """Every argument of `arguments`: its fields, and for TrainingArguments the named ones that are not fields."""
    names = [item.name for item in dataclasses.fields(arguments) if item.init]
    if "learning_rate" in names:  # a TrainingArguments: the process count is a property of theirs
        names += [name for name in ("world_size", "warmup_ratio") if name not in names]
    return names


def names_with(arguments, *effects: str) -> list[str]:
    """The arguments of `arguments` that have any of `effects`."""
    return [name for name in argument_names(arguments) if effects_of(arguments, name) & set(effects)]
