"""One parser for options that take "a file, a JSON value or a comma list" (--tag_names, --rename_labels,
--regex_transformations): each option then checks the shape it needs."""

from __future__ import annotations

import json
import os

from bertft_utils.errors import UsageError


def parse_option_value(value: str, flag: str) -> list | dict:
    """The value of `flag`: a path to a file holding it, or the value itself.

    Text that starts with `[` or `{` is JSON; any other file is one item per non-blank line, and any other inline
    value is a comma-separated list whose items are stripped (an empty item is an error: it would shift every later
    item's position).
    """
    source = flag
    text = value
    if os.path.isfile(value):
        source = f"{flag} file {value}"
        with open(value, encoding="utf-8") as handle:
            text = handle.read()
        if not text.lstrip().startswith(("[", "{")):
            return [line.strip() for line in text.splitlines() if line.strip()]
    if text.lstrip().startswith(("[", "{")):
        try:
            return json.loads(text)
        except json.JSONDecodeError as error:
            raise UsageError(f"{source}: not valid JSON ({error.msg}, line {error.lineno} column {error.colno}); "
                             f"got {shorten(text)}.") from None
    items = [item.strip() for item in text.split(",")]
    if items and not items[-1]:
        items.pop()  # one trailing comma
    empty = [position for position, item in enumerate(items, start=1) if not item]
    if empty or not items:
        where = f" (item {empty[0]} is empty)" if empty else ""
        raise UsageError(f"{source}: expected a comma-separated list, a JSON value or a file{where}; got "
                         f"{shorten(text)}.")
    return items


def shorten(text: str, limit: int = 80) -> str:
    """repr of text, cut to `limit` characters."""
    return repr(text if len(text) <= limit else text[:limit] + "...")


def parse_class_weights(value: str) -> str | dict:
    """--class_weights: 'balanced', or a JSON object {label: weight > 0} (text or file)."""
    if value == "balanced":
        return value
    given = parse_option_value(value, "--class_weights")
    if not isinstance(given, dict) or not given or not all(
            isinstance(v, int | float) and not isinstance(v, bool) and v > 0 for v in given.values()):
        raise UsageError("--class_weights must be 'balanced' or a JSON object {label: weight > 0}, e.g. "
                         '{"sarcastic": 2.0}.')
    return {str(label): float(weight) for label, weight in given.items()}
