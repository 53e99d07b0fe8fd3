"""Decisions measured on this machine (precision, ONNX Runtime graph settings), remembered in the user's cache folder
(`$BERTFT_CACHE`, default `~/.cache/bertft`), one JSON file per kind of decision, keyed by what they depend on."""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path

logger = logging.getLogger(__name__)


def cache_path(name: str) -> Path:
    return Path(os.environ.get("BERTFT_CACHE", Path.home() / ".cache" / "bertft")) / name


def remembered(name: str, key: str, measure: Callable[[], dict]) -> tuple[dict, bool]:
    """The entry for `key` in the cache file `name`, measured by `measure()` (and stored, dated) when missing.
    Returns it and whether it came from the cache. A cache that cannot be read or written only costs a new
    measurement next time."""
    path = cache_path(name)
    try:
        entries = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    except (OSError, ValueError):
        entries = {}
    if key in entries:
        return entries[key], True
    entry = {**measure(), "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")}
    entries[key] = entry
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(entries, indent=1), encoding="utf-8")
        os.replace(tmp, path)
    except OSError as error:
        logger.warning("Could not remember the measurement in %s (%s): it is measured again next run.", path, error)
    return entry, False
