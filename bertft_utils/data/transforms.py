"""Regex substitutions for data cleansing, applied identically at train, eval and predict time.

They are stored in the saved model's config (`bertft_regex_transformations`), so a reloaded model cleans its
input the way it was trained.
"""

from __future__ import annotations

import re

from bertft_utils.config.option_values import parse_option_value
from bertft_utils.config.stored_settings import resolve_stored
from bertft_utils.errors import UsageError

CONFIG_KEY = "bertft_regex_transformations"


class RegexTransformations:
    """An ordered list of (pattern, replacement) pairs applied one after another."""

    def __init__(self, pairs: list[tuple[str, str]] | None = None):
        self.pairs = [(pattern, replacement) for pattern, replacement in (pairs or [])]
        self._compiled = []
        for pattern, replacement in self.pairs:
            try:
                self._compiled.append((re.compile(pattern), replacement))
            except re.error as error:
                raise UsageError(f"--regex_transformations: invalid pattern {pattern!r}: {error}.") from None

    @classmethod
    def from_argument(cls, value: str | None) -> RegexTransformations:
        """Parse a JSON object {pattern: replacement} or list of pairs, given inline or as a file path."""
        if not value:
            return cls()
        data = parse_option_value(value, "--regex_transformations")
        source = f"--regex_transformations {value!r}"
        if isinstance(data, dict):
            pairs = list(data.items())
        elif isinstance(data, list) and all(isinstance(p, list | tuple) and len(p) == 2 for p in data):
            pairs = [tuple(p) for p in data]
        else:
            raise UsageError(f"{source}: expected a JSON object {{pattern: replacement}} or a list of pairs, such as "
                             '\'{"https?://\\\\S+": "", "\\\\s+": " "}\', or a path to a file holding one.')
        if not all(isinstance(p, str) and isinstance(r, str) for p, r in pairs):
            raise UsageError(f"{source}: patterns and replacements must be strings.")
        return cls(pairs)

    def __bool__(self) -> bool:
        return bool(self.pairs)

    def __call__(self, text: str) -> str:
        for pattern, replacement in self._compiled:
            text = pattern.sub(replacement, text)
        return text


def resolve_regex_transformations(argument: str | None, config) -> RegexTransformations:
    """The command-line transformations, or those stored with a fine-tuned model; a conflict is an error."""
    given = RegexTransformations.from_argument(argument)
    pairs = resolve_stored(config, CONFIG_KEY, [list(p) for p in given.pairs] or None, "--regex_transformations")
    return RegexTransformations([tuple(p) for p in pairs or []])
