"""What a run was made with: `run_settings.json` in its output folder, every argument that can change a number
(config/effects.py: all but output-only ones and secrets) and each data file by content. `compare` groups the seeds
of a model by it (runs whose settings differ beyond the seed are not seeds of one model), and scripts/build_report.py
shows runs made with other settings apart.
"""

from __future__ import annotations

import json
import os

from bertft_utils.config.effects import OUTPUT, SECRET, argument_names, effects_of
from bertft_utils.data.readers import file_sha256
from bertft_utils.files import write_json

RUN_SETTINGS_FILE = "run_settings.json"
DATA_FILE_ARGUMENTS = ("train_file", "validation_file", "test_file", "split_file", "predict_text_file")
# What may differ between the seeds of one model: the seed, and the split file (the first run of a split writes it,
# the others read it: the same split; compare checks that every run predicted the same test items anyway).
SEED_ARGUMENTS = ("seed", "split_file")


def run_settings(script: str, *argument_sets) -> dict:
    """The script, every argument of `argument_sets` that can change a number (JSON-safe values), and the SHA-256
    of each data file an argument names."""
    settings: dict = {}
    for arguments in argument_sets:
        for name in argument_names(arguments):
            if effects_of(arguments, name) <= {OUTPUT, SECRET} or SECRET in effects_of(arguments, name):
                continue
            value = getattr(arguments, name, None)
            settings[name] = value if isinstance(value, str | int | float | bool | type(None)) else str(value)
    data = {name: file_sha256(path) for arguments in argument_sets for name in DATA_FILE_ARGUMENTS
            if isinstance(path := getattr(arguments, name, None), str) and os.path.isfile(path)}
    return {"script": script, "settings": settings, "data_sha256": data}


def write_run_settings(output_dir: str, script: str, *argument_sets) -> str:
    return write_json(os.path.join(output_dir, RUN_SETTINGS_FILE), run_settings(script, *argument_sets))


def read_run_settings(folder: str | os.PathLike) -> dict | None:
    """A run folder's run_settings.json, or None (a run made before runs recorded them)."""
    path = os.path.join(folder, RUN_SETTINGS_FILE)
    if not os.path.isfile(path):
        return None
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


def settings_but_seed(recorded: dict) -> dict:
    """The recorded settings less what differs between the seeds of one model."""
    return {**recorded, "settings": {name: value for name, value in recorded["settings"].items()
                                     if name not in SEED_ARGUMENTS},
            "data_sha256": {name: value for name, value in recorded.get("data_sha256", {}).items()
                            if name not in SEED_ARGUMENTS}}


def differences(first: dict, second: dict) -> list[str]:
    """'name: A vs B' for each setting or data file in which two records differ."""
    flat = [{**a["settings"], **{f"{k} content": v for k, v in a["data_sha256"].items()}, "script": a["script"]}
            for a in (first, second)]
    return [f"{key}: {flat[0].get(key)!r} vs {flat[1].get(key)!r}" for key in sorted(set(flat[0]) | set(flat[1]))
            if flat[0].get(key) != flat[1].get(key)]
