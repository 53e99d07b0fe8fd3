"""The package's groups are floors: a module imports only from its own group or from groups below it."""

from __future__ import annotations

import ast
import pathlib

import bertft_utils

PACKAGE = pathlib.Path(bertft_utils.__file__).parent
# Lowest first. `errors` and `files` are the small shared modules at the top level of the package.
FLOORS = ["errors", "files", "config", "data", "runtime", "modeling", "evaluation", "training", "publishing", "tasks"]
ENTRY_POINTS = ["compare", "report_html"]  # `python -m bertft_utils.<name>` command lines: above every floor


def group_of(module: str) -> str:
    """'bertft_utils.data.readers.tables' -> 'data'."""
    return module.split(".")[1]


def imported_modules(path: pathlib.Path) -> list[tuple[int, str]]:
    """(line, module) of every bertft_utils import in a file, inside functions too."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("bertft_utils."):
            found.append((node.lineno, node.module))
        elif isinstance(node, ast.ImportFrom) and node.level:
            found.append((node.lineno, "relative"))
        elif isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names if a.name.startswith("bertft_utils.")]
    return found


def layer_violations() -> list[str]:
    problems = []
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE).with_suffix("").parts
        if parts == ("__init__",):
            continue
        own = parts[0]
        if own in ENTRY_POINTS:
            continue
        for line, module in imported_modules(path):
            where = f"{path.relative_to(PACKAGE.parent)}:{line}"
            if module == "relative":
                problems.append(f"{where}: relative import (write bertft_utils.<group>.<module>)")
                continue
            target = group_of(module)
            if own == "testing" or target == "testing":
                if target == "testing" and own != "testing":
                    problems.append(f"{where}: the run path imports the test helpers ({module})")
                continue
            if own not in FLOORS or target not in FLOORS:
                problems.append(f"{where}: {module} is in no known group (add it to FLOORS)")
            elif FLOORS.index(target) > FLOORS.index(own):
                problems.append(f"{where}: {own} imports {module}, a group above it")
    return problems


def test_imports_only_point_down():
    assert layer_violations() == []


def test_every_group_says_what_it_owns():
    groups = [p for p in PACKAGE.iterdir() if p.is_dir() and not p.name.startswith("__")]
    assert sorted(p.name for p in groups) == sorted([*FLOORS[2:], "testing"])
    for group in groups:
        docstring = ast.get_docstring(ast.parse((group / "__init__.py").read_text(encoding="utf-8")))
        assert docstring and len(docstring) > 40, f"{group.name}/__init__.py has no docstring"


def test_the_top_level_holds_only_the_shared_modules():
    assert sorted(p.name for p in PACKAGE.glob("*.py")) == sorted(
        ["__init__.py", "errors.py", "files.py", *(f"{name}.py" for name in ENTRY_POINTS)])


def test_the_layout_page_names_every_group_and_module():
    layout = (PACKAGE.parent / "docs" / "layout.md").read_text(encoding="utf-8")
    rows = {line.split("|")[2].strip(): line for line in layout.splitlines() if line.startswith("| ") and
            line.count("|") >= 4}
    missing = []
    for group in sorted(p for p in PACKAGE.iterdir() if p.is_dir() and not p.name.startswith("__")):
        row = rows.get(f"`{group.name}/`", "")
        modules = [p for p in group.iterdir() if p.suffix == ".py" and p.name != "__init__.py" or
                   p.is_dir() and (p / "__init__.py").exists()]
        if not row:
            missing.append(f"{group.name}/ (no row)")
        missing += [f"{group.name}/{m.stem}" for m in modules if f"`{m.stem}" not in row]
    assert missing == []
