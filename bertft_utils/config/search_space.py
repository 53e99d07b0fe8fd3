"""The hyperparameter search space: each script's default and the checks of --hp_search_space."""

from __future__ import annotations

import json

from bertft_utils.config.option_values import parse_option_value
from bertft_utils.errors import UsageError

BACKENDS = ("optuna", "ray")
# Search spaces by script: {argument: {"type": "float"|"int"|"categorical", "low"/"high" [, "log"] | "choices"}}.
_COMMON_SPACE = {
    "learning_rate": {"type": "float", "low": 1e-5, "high": 3e-4, "log": True},
    "per_device_train_batch_size": {"type": "categorical", "choices": [16, 32, 64]},
    "weight_decay": {"type": "categorical", "choices": [0.0, 0.01]},
}
DEFAULT_SPACES = {
    "run_classify.py": {**_COMMON_SPACE, "num_train_epochs": {"type": "int", "low": 1, "high": 4}},
    "run_ner.py": {**_COMMON_SPACE, "num_train_epochs": {"type": "int", "low": 1, "high": 5}},
    "run_qa_label.py": {**_COMMON_SPACE, "num_train_epochs": {"type": "int", "low": 3, "high": 12}},
}

def search_space(value: str | None, script: str) -> dict[str, dict]:
    """--hp_search_space (a JSON file or JSON text) checked, else the script's default space."""
    return parse_space(value) if value else DEFAULT_SPACES[script]


def parse_space(value: str) -> dict[str, dict]:
    """--hp_search_space read and checked."""
    space = parse_option_value(value, "--hp_search_space")
    if not isinstance(space, dict) or not space:
        raise UsageError("--hp_search_space must be a JSON object {argument: {\"type\": ...}}, e.g. "
                         '{"learning_rate": {"type": "float", "low": 1e-5, "high": 1e-4, "log": true}}.')
    for name, spec in space.items():
        kind = spec.get("type") if isinstance(spec, dict) else None
        if kind in ("float", "int"):
            ok = isinstance(spec.get("low"), int | float) and isinstance(spec.get("high"), int | float) and \
                spec["low"] <= spec["high"]
        elif kind == "categorical":
            ok = isinstance(spec.get("choices"), list) and len(spec["choices"]) > 0
        else:
            ok = False
        if not ok:
            raise UsageError(f"--hp_search_space: {name!r} must be {{\"type\": \"float\" or \"int\", \"low\": L, "
                             f"\"high\": H (L <= H)[, \"log\": true]}} or {{\"type\": \"categorical\", \"choices\": "
                             f"[...]}}; got {json.dumps(spec)}.")
    return space
