"""Every figure README.md and docs/ quote (a percentage or an "N x" ratio) comes from a committed results file: it
appears there, or is the rounding of one that does (92.9% for 92.92%)."""

from __future__ import annotations

import re

from conftest import REPO

FIGURE = re.compile(r"(?<![\w.])(\d[\d,]*(?:\.\d+)?)(%|x\b)")


def figures(text: str) -> set[tuple[str, str]]:
    return {(number.replace(",", ""), unit) for number, unit in FIGURE.findall(text)}


def quoted_from(figure: tuple[str, str], measured: set[tuple[str, str]]) -> bool:
    number, unit = figure
    decimals = len(number.partition(".")[2])
    return any(unit == other_unit and f"{float(other):.{decimals}f}" == number for other, other_unit in measured
               if len(other.partition(".")[2]) >= decimals)


def test_every_documented_figure_comes_from_a_results_file():
    measured = set().union(*(figures(path.read_text(encoding="utf-8")) for path in (REPO / "results").rglob("*.md")))
    pages = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
    quoted = {(page.name, figure) for page in pages for figure in figures(page.read_text(encoding="utf-8"))}
    assert len(quoted) > 10  # the pages do quote results
    assert not {(page, figure) for page, figure in quoted if not quoted_from(figure, measured)}


def test_a_typed_figure_is_caught():
    measured = figures("| a | 92.92% | 5.1x |")
    assert quoted_from(("92.9", "%"), measured) and quoted_from(("5.1", "x"), measured)
    assert not quoted_from(("93.0", "%"), measured) and not quoted_from(("2.6", "x"), measured)
