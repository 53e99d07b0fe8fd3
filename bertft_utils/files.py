"""Files a run writes: JSON and text written whole, each announced with one log line."""

from __future__ import annotations

import json
import logging

logger = logging.getLogger(__name__)
PARTIAL_SUFFIX = ".partial"  # a file written piece by piece, until complete (a killed run leaves none that looks done)


def announce(path: str) -> str:
    """Log one line per output file (tests count them to check each is written once)."""
    logger.info("bertft wrote %s", path)
    return path


def write_json(path: str, payload) -> str:
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(payload, handle, indent=2, ensure_ascii=False)
    return announce(path)


def write_text(path: str, text: str) -> str:
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(text)
    return announce(path)
