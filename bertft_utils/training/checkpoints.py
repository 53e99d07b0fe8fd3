"""Which checkpoint a training run may resume from: only a complete one, and only one of the same run.

Trainer's own rule (the newest `checkpoint-*` folder in output_dir) resumes from a folder half-written by a run killed
while saving, and from a checkpoint that an earlier, different run left in the same folder. Every checkpoint we save
gets a marker written after everything else (`bertft_checkpoint.json`) holding a fingerprint of the run: the
arguments that change what it computes and the content hashes of its data files.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re

from transformers import TrainerCallback

from bertft_utils.config.effects import SPLIT, TRAINING, left_out_at_default, names_with
from bertft_utils.data.readers import file_sha256
from bertft_utils.errors import UsageError

logger = logging.getLogger(__name__)

MARKER = "bertft_checkpoint.json"
_CHECKPOINT = re.compile(r"^checkpoint-(\d+)$")
DATA_FILE_FIELDS = ("train_file", "validation_file", "split_file")


def run_fingerprint(model_args, data_args, training_args) -> dict:
    """The settings of this run that a checkpoint must share to be resumed, with their hash under 'hash'."""
    settings: dict = {}
    for arguments in (model_args, data_args, training_args):
        for name in names_with(arguments, TRAINING, SPLIT):  # declared in each field's metadata (effects.py)
            if left_out_at_default(arguments, name):
                continue
            value = getattr(arguments, name, None)
            settings[name] = value if isinstance(value, str | int | float | bool | type(None)) else str(value)
    for name in DATA_FILE_FIELDS:
        path = getattr(data_args, name, None)
        if path and os.path.isfile(path):
            settings[f"{name} content"] = file_sha256(path)
    payload = json.dumps(settings, sort_keys=True, default=str)
    return {"hash": hashlib.sha256(payload.encode()).hexdigest(), "settings": settings}


class CheckpointMarker(TrainerCallback):
    """Writes the marker into each checkpoint once Trainer has finished writing it (atomically: temp + rename)."""

    def __init__(self, fingerprint: dict):
        self.fingerprint = fingerprint

    def refresh(self, model_args, data_args, training_args) -> None:
        """Take the fingerprint again, after the precision was chosen: the marker records the one used."""
        self.fingerprint = run_fingerprint(model_args, data_args, training_args)

    def on_save(self, args, state, control, **kwargs):
        folder = os.path.join(args.output_dir, f"checkpoint-{state.global_step}")
        if args.should_save and os.path.isdir(folder):
            temporary = os.path.join(folder, MARKER + ".tmp")
            with open(temporary, "w", encoding="utf-8") as handle:
                json.dump({"step": state.global_step, **self.fingerprint}, handle, indent=1, default=str)
            os.replace(temporary, os.path.join(folder, MARKER))
        return control


def _checkpoints_newest_first(output_dir: str) -> list[str]:
    found = [(int(m.group(1)), name) for name in os.listdir(output_dir)
             if (m := _CHECKPOINT.match(name)) and os.path.isdir(os.path.join(output_dir, name))]
    return [os.path.join(output_dir, name) for _, name in sorted(found, reverse=True)]


def _read_marker(folder: str) -> dict | None:
    try:
        with open(os.path.join(folder, MARKER), encoding="utf-8") as handle:
            return json.load(handle)
    except (OSError, ValueError):
        return None


def _complete_without_marker(folder: str) -> bool:
    """A checkpoint another tool (or an older bertft) finished: a readable trainer state and weights."""
    try:
        with open(os.path.join(folder, "trainer_state.json"), encoding="utf-8") as handle:
            json.load(handle)
    except (OSError, ValueError):
        return False
    return any(os.path.isfile(os.path.join(folder, name)) for name in (
        "model.safetensors", "pytorch_model.bin", "model.safetensors.index.json", "pytorch_model.bin.index.json"))


# The precision a run computes in: measured on the machine unless the flags force it, so it is known only after the
# checkpoint was chosen; a resumed run takes the checkpoint's (checkpoint_precision).
PRECISION_FIELDS = ("bf16", "fp16")


def _differences(stored: dict, current: dict, ignored: tuple[str, ...] = ()) -> list[str]:
    keys = sorted((set(stored) | set(current)) - set(ignored))
    return [f"{key}: {stored.get(key)!r} then, {current.get(key)!r} now" for key in keys
            if stored.get(key) != current.get(key)]


def checkpoint_precision(folder: str | None) -> bool | None:
    """Whether the run that wrote this checkpoint trained in bf16 (None: no marker says)."""
    marker = _read_marker(folder) if folder else None
    value = (marker or {}).get("settings", {}).get("bf16")
    return value if isinstance(value, bool) else None


def resumable_checkpoint(training_args, fingerprint: dict, precision_measured: bool = False) -> str | None:
    """The checkpoint this run resumes from: --resume_from_checkpoint, else the newest complete checkpoint in
    output_dir written by the same run. Half-written ones are skipped (logged); another run's is an error. With
    `precision_measured` (not yet chosen) the precision is not compared: the resumed run keeps the checkpoint's."""
    if training_args.resume_from_checkpoint:
        return training_args.resume_from_checkpoint  # the user's explicit choice
    if not training_args.do_train or not os.path.isdir(training_args.output_dir):
        return None
    for folder in _checkpoints_newest_first(training_args.output_dir):
        marker = _read_marker(folder)
        if marker is None:
            if _complete_without_marker(folder):
                raise UsageError(
                    f"{folder} was not written by a bertft run (no {MARKER}): it may belong to another run. "
                    "Start afresh with another --output_dir (or delete the checkpoint-* folders), or resume from it "
                    f"on purpose with --resume_from_checkpoint {folder}.")
            logger.warning("%s is incomplete (the run was interrupted while saving it): skipped. Delete it when "
                           "convenient.", folder)
            continue
        changes = [] if marker.get("hash") == fingerprint["hash"] else _differences(
            marker.get("settings", {}), fingerprint["settings"], PRECISION_FIELDS if precision_measured else ())
        if changes or (marker.get("hash") != fingerprint["hash"] and not precision_measured):
            raise UsageError(
                f"{folder} belongs to a different run ({'; '.join(changes[:10]) or 'other settings'}"
                f"{f'; and {len(changes) - 10} more' if len(changes) > 10 else ''}). Start afresh with another "
                "--output_dir (or delete the checkpoint-* folders), or resume from it on purpose with "
                f"--resume_from_checkpoint {folder}.")
        logger.info("Resuming from %s (same run: arguments and data files unchanged).", folder)
        return folder
    return None


def resume_point(model_args, data_args, training_args, precision_measured: bool = False
                 ) -> tuple[str | None, CheckpointMarker]:
    """The checkpoint to resume from (checked before any model is loaded) and the callback that marks this run's
    checkpoints. The marker's fingerprint is taken again once the precision is chosen (`CheckpointMarker.refresh`)."""
    fingerprint = run_fingerprint(model_args, data_args, training_args)
    return (resumable_checkpoint(training_args, fingerprint, precision_measured),
            CheckpointMarker(fingerprint))
