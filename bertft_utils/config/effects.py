"""What each argument changes, declared once: every field of our argument dataclasses names its effects in its
metadata (`"affects"`). The checkpoint fingerprint, the hyperparameter search's best_config.json, the split check
and the reproduction's same-settings check all read them from here, so that no list of "arguments that matter" can
drift from another."""

from __future__ import annotations

import dataclasses

TRAINING = "training"  # the weights a training run produces
SPLIT = "split"  # which records of --train_file go to train, validation and test
PREDICTION = "prediction"  # what is predicted or scored, not the weights
OUTPUT = "output"  # only what is written or shown, or how fast: never a number
SEARCH = "search"  # the hyperparameter search's own settings (not written into its best configuration)
SECRET = "secret"  # a credential: written nowhere
EFFECTS = (TRAINING, SPLIT, PREDICTION, OUTPUT, SEARCH, SECRET)

# transformers' own TrainingArguments fields cannot carry our metadata. These change the weights a run produces
# (`world_size`, the process count, is a property; `warmup_ratio` a field of transformers 4); every other field of
# theirs only changes logging, saving, evaluation timing or output.
TRAINER_FIELDS_AFFECTING_TRAINING = (
    "learning_rate", "weight_decay", "adam_beta1", "adam_beta2", "adam_epsilon", "max_grad_norm", "num_train_epochs",
    "max_steps", "lr_scheduler_type", "warmup_steps", "warmup_ratio", "per_device_train_batch_size",
    "gradient_accumulation_steps", "seed", "data_seed", "bf16", "fp16", "optim", "label_smoothing_factor",
    "world_size")
TRAINER_SECRETS = ("hub_token",)


def affects(*effects: str, added_later: bool = False) -> dict:
    """The metadata entry of a field: `field(..., metadata={**affects(TRAINING, PREDICTION), "help": ...})`.

    `added_later`: a field added after checkpoints were first fingerprinted; at its default it is left out of the
    fingerprint, so that those checkpoints still resume."""
    unknown = [e for e in effects if e not in EFFECTS]
    if unknown or not effects:
        raise ValueError(f"effects must be some of {EFFECTS}, got {effects}")
    return {"affects": frozenset(effects), **({"added_later": True} if added_later else {})}


def left_out_at_default(arguments, name: str) -> bool:
    """Whether argument `name` is an `added_later` field at its default value (left out of the fingerprint)."""
    for item in dataclasses.fields(arguments):
        if item.name == name and item.metadata.get("added_later"):
            return getattr(arguments, name) == item.default
    return False


def effects_of(arguments, name: str) -> frozenset[str]:
    """The declared effects of argument `name` of the dataclass (or instance) `arguments`."""
    for item in dataclasses.fields(arguments):
        if item.name == name and "affects" in item.metadata:
            return item.metadata["affects"]
    if name in TRAINER_FIELDS_AFFECTING_TRAINING:
        return frozenset({TRAINING})
    if name in TRAINER_SECRETS:
        return frozenset({SECRET})
    return frozenset({OUTPUT})  # one of transformers' fields that changes no number


def secret_names(arguments) -> list[str]:
    """The arguments of `arguments` that hold a credential: declared SECRET, and any transformers field whose name
    ends in `_token` (the rule by which `TrainingArguments.to_dict` redacts, so that a field added later counts)."""
    return [name for name in argument_names(arguments)
            if SECRET in effects_of(arguments, name) or name.endswith("_token")]


def argument_names(arguments) -> list[str]:
    """Every argument of `arguments`: its fields, and for TrainingArguments the named ones that are not fields."""
    names = [item.name for item in dataclasses.fields(arguments) if item.init]
    if any(name in names for name in TRAINER_FIELDS_AFFECTING_TRAINING):  # a TrainingArguments
        names += [name for name in TRAINER_FIELDS_AFFECTING_TRAINING if name not in names]
    return names


def names_with(arguments, *effects: str) -> list[str]:
    """The arguments of `arguments` that have any of `effects`."""
    return [name for name in argument_names(arguments) if effects_of(arguments, name) & set(effects)]
