"""The data's language as far as the package needs it: Chinese (characters joined without spaces) or not."""

from __future__ import annotations

import re


def guess_language(texts: list[str]) -> str | None:
    """'zh' when most letters are CJK characters, 'en' when most are ASCII letters, else None."""
    sample = "".join(texts[:2000])
    cjk = len(re.findall(r"[\u4e00-\u9fff]", sample))
    latin = len(re.findall(r"[A-Za-z]", sample))
    if cjk > latin:
        return "zh"
    return "en" if latin else None


def token_separator(tokens: list[str]) -> str:
    """How a sentence's tokens join back into text: nothing between Chinese characters, else a space."""
    return "" if guess_language(["".join(tokens)]) == "zh" else " "
