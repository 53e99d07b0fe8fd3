#!/usr/bin/env python
"""Mutation testing of the data-path modules: each module is mutated with mutmut and checked against its own unit
tests only, so the score says how well *those* tests guard *that* module.

Each module runs in its own copy of the repository (tracked files only) with a `[mutmut]` section naming the module
and its tests; the counts, every surviving mutant's diff and the equivalents judged in
`bench/mutation_equivalents.json` go to `results/mutation.json`, and `results/mutation.md` is rendered from it.

    .venv/bin/python bench/mutation.py                    # every module (about 30-60 minutes on 2 cores)
    .venv/bin/python bench/mutation.py --modules windows  # one module; the others keep their committed figures
    .venv/bin/python bench/mutation.py --report           # rewrite the .md from the committed JSON only
    make mutation                                         # the same as the first line
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import REPO, facts_markdown, machine_facts, read_json, result_path

# module (a file, or a package's folder) -> its own unit tests
MODULES: dict[str, list[str]] = {
    "readers": ["tests/test_readers.py"],
    "splits": ["tests/test_splits.py"],
    "labels": ["tests/test_labels.py"],
    "tags": ["tests/test_tags.py"],
    "windows": ["tests/test_windows.py"],
    "metrics": ["tests/test_metrics.py"],
}
PACKAGES = {"readers"}
# where each module lives in the package (results/mutation.json keys them by their short name)
LOCATIONS = {"readers": "data/readers", "splits": "data/splits", "labels": "data/labels", "tags": "data/tags",
             "windows": "tasks/windows", "metrics": "evaluation/metrics"}
TARGET = 0.90
EQUIVALENTS = REPO / "bench" / "mutation_equivalents.json"
# mutmut's exit codes -> status (mutmut/stats.py); anything else is "suspicious"
STATUS = {1: "killed", 3: "killed", 0: "survived", 5: "no tests", 33: "no tests", 34: "skipped", 36: "timeout",
          24: "timeout", -24: "timeout", 152: "timeout", 255: "timeout", -11: "segfault", -9: "segfault", None:
          "not checked"}


def module_file(module: str) -> str:
    """The module's path (a package: its folder)."""
    return f"bertft_utils/{LOCATIONS[module]}/" if module in PACKAGES else f"bertft_utils/{LOCATIONS[module]}.py"


def mutate_patterns(module: str) -> list[str]:
    return [f"bertft_utils/{LOCATIONS[module]}/*"] if module in PACKAGES else [module_file(module)]


def copy_tracked_files(destination: Path) -> None:
    """The repository as a clean clone would have it (tracked files; the working-tree versions of them)."""
    files = subprocess.run(["git", "ls-files"], cwd=REPO, capture_output=True, text=True, check=True).stdout.split()
    for name in files:
        source = REPO / name
        if source.is_file():
            target = destination / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)


def mutmut_section(module: str, tests: list[str]) -> str:
    def listing(values: list[str]) -> str:
        return "\n" + "\n".join(f"    {v}" for v in values)
    return ("\n[mutmut]\nsource_paths = bertft_utils\n"
            f"only_mutate ={listing(mutate_patterns(module))}\n"
            f"pytest_add_cli_args_test_selection ={listing(tests)}\n"
            "also_copy =\n    data\n"
            "pytest_add_cli_args =\n    -p\n    no:cacheprovider\n    -q\n")


def run_module(module: str, tests: list[str], workdir: Path) -> dict:
    """Mutate one module in a fresh copy; returns counts and survivors (name, diff)."""
    copy = workdir / module
    shutil.rmtree(copy, ignore_errors=True)
    copy_tracked_files(copy)
    with open(copy / "setup.cfg", "a", encoding="utf-8") as handle:
        handle.write(mutmut_section(module, tests))
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false", "HYPOTHESIS_PROFILE": "ci"}
    started = machine_facts()
    start = time.perf_counter()
    log = subprocess.run([sys.executable, "-m", "mutmut", "run", "--max-children", str(os.cpu_count() or 1)],
                         cwd=copy, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    meta_paths = sorted((copy / "mutants" / "bertft_utils").glob(f"{LOCATIONS[module]}/*.py.meta" if module in PACKAGES
                                                                 else f"{LOCATIONS[module]}.py.meta"))
    if not meta_paths:
        raise RuntimeError(f"mutmut wrote no results for {module}:\n{log.stdout[-3000:]}\n{log.stderr[-3000:]}")
    exit_codes = {name: code for path in meta_paths
                  for name, code in json.loads(path.read_text(encoding="utf-8"))["exit_code_by_key"].items()}
    counts: dict[str, int] = {}
    survivors = []
    for name, code in sorted(exit_codes.items()):
        status = STATUS.get(code, "suspicious")
        counts[status] = counts.get(status, 0) + 1
        if status in ("survived", "no tests"):
            diff = subprocess.run([sys.executable, "-m", "mutmut", "show", name], cwd=copy, env=env,
                                  capture_output=True, text=True).stdout
            survivors.append({"name": name, "status": status, "diff": changed_lines(diff)})
    return {"tests": tests, "counts": counts, "mutants": len(exit_codes), "seconds": round(seconds, 1),
            "survivors": survivors, "commit": started["git_commit"], "date_utc": started["date_utc"]}


def changed_lines(diff: str) -> list[str]:
    """The -/+ lines of a unified diff (without the file headers)."""
    return [line for line in diff.splitlines()
            if line[:1] in "-+" and not line.startswith(("---", "+++"))]


def equivalence_key(survivor: dict) -> str:
    """Mutant names move when code moves; a survivor is recognised by its function and its changed lines."""
    function = survivor["name"].split("__mutmut_")[0]
    return function + "\n" + "\n".join(line.strip() for line in survivor["diff"])


def load_equivalents() -> dict[str, str]:
    """bench/mutation_equivalents.json: [{"function", "diff": [changed lines], "why"}] -> {key: why}."""
    if not EQUIVALENTS.exists():
        return {}
    return {equivalence_key({"name": e["function"], "diff": e["diff"]}): e["why"] for e in read_json(EQUIVALENTS)}


def report(data: dict) -> str:
    equivalents = data.get("equivalents", {})
    lines = ["# Mutation testing of the data-path modules", "",
             "Generated by `bench/mutation.py` from `results/mutation.json`; do not edit. Each module is mutated by "
             "mutmut and checked against its own unit tests only (the file named in the table). A mutant is "
             "*killed* when a test fails, times out or crashes on it; *equivalent* survivors (the code means the "
             "same, or the change only touches a log message) are listed with the reason, judged in "
             "`bench/mutation_equivalents.json`. Score = killed / (mutants - equivalent).", "",
             facts_markdown(data["facts"], data["command"]), "",
             "| module | tests | measured (UTC, commit) | mutants | killed | timeout | survived | no tests "
             "| equivalent | killed / all | score | target |",
             "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    for module, result in data["modules"].items():
        counts = result["counts"]
        equivalent = sum(equivalence_key(s) in equivalents for s in result["survivors"])
        killed = counts.get("killed", 0) + counts.get("timeout", 0) + counts.get("segfault", 0) + counts.get(
            "suspicious", 0)
        denominator = result["mutants"] - equivalent
        score = killed / denominator if denominator else 1.0
        when = f"{result['date_utc']}, {result['commit']}" if result.get("commit") else "see above"
        lines.append(f"| `{module_file(module)}` | {', '.join(f'`{t}`' for t in result['tests'])} | {when} | "
                     f"{result['mutants']} | {counts.get('killed', 0)} | {counts.get('timeout', 0)} | "
                     f"{counts.get('survived', 0)} | {counts.get('no tests', 0)} | {equivalent} | "
                     f"{killed / result['mutants']:.1%} | {score:.1%} | "
                     f"{'met' if score >= TARGET else 'NOT met'} (>= {TARGET:.0%}) |")
    for module, result in data["modules"].items():
        if not result["survivors"]:
            continue
        lines += ["", f"## Survivors in `{module_file(module)}` ({result['seconds'] / 60:.1f} min)", ""]
        for survivor in result["survivors"]:
            why = equivalents.get(equivalence_key(survivor))
            verdict = f"equivalent: {why}" if why else f"**not killed** ({survivor['status']})"
            diff = "\n".join(survivor["diff"]) or "(no diff shown)"
            lines += [f"- `{survivor['name']}`: {verdict}", "", "  ```diff", *[f"  {d}" for d in diff.splitlines()],
                      "  ```"]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--report", action="store_true", help="Rewrite the .md from the committed JSON only.")
    parser.add_argument("--judge", action="store_true",
                        help="Re-apply bench/mutation_equivalents.json to the committed JSON (no mutation run).")
    parser.add_argument("--modules", nargs="+", choices=sorted(MODULES), default=None,
                        help="Only these modules (the others keep their figures in the JSON).")
    parser.add_argument("--workdir", default=None, help="Where the copies go (default: a temporary folder).")
    args = parser.parse_args()
    json_path, md_path = result_path("mutation.json"), result_path("mutation.md")
    if args.judge:
        data = read_json(json_path)
        equivalents = load_equivalents()
        data["equivalents"] = {key: why for key, why in equivalents.items()
                               if any(equivalence_key(s) == key for r in data["modules"].values()
                                      for s in r["survivors"])}
        json_path.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    elif not args.report:
        data = read_json(json_path) if json_path.exists() and args.modules else {"modules": {}}
        workdir = Path(args.workdir or tempfile.mkdtemp(prefix="bertft-mutation-"))
        for module in args.modules or MODULES:
            print(f"mutating {module_file(module)} against {MODULES[module]} ...", flush=True)
            data["modules"][module] = run_module(module, MODULES[module], workdir)
            print(f"  {data['modules'][module]['counts']}", flush=True)
        data["modules"] = {m: data["modules"][m] for m in MODULES if m in data["modules"]}
        data["facts"] = machine_facts()
        data["facts"]["versions"]["mutmut"] = subprocess.run(
            [sys.executable, "-m", "pip", "show", "mutmut"], capture_output=True, text=True).stdout.split(
            "Version: ")[-1].split()[0]
        data["command"] = "python bench/mutation.py" + (f" --modules {' '.join(args.modules)}" if args.modules else "")
        equivalents = load_equivalents()
        data["equivalents"] = {key: why for key, why in equivalents.items()
                               if any(equivalence_key(s) == key for r in data["modules"].values()
                                      for s in r["survivors"])}
        json_path.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    md_path.write_text(report(read_json(json_path)), encoding="utf-8")
    print(f"wrote {md_path}")


if __name__ == "__main__":
    main()
