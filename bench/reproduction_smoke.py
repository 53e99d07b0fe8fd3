#!/usr/bin/env python
"""The reproduction path end to end, small: `scripts/reproduce_report.sh --smoke` on the real data files with tiny
look-alikes of the nine Hub checkpoints (built by bertft_utils.testing.lookalikes; the real ones cannot be
downloaded here).

Keeps what the report reads (run_done.json, train_results.json, test_results.json, test_entities.json, answers.tsv,
hp_search/best_config.json with HP_TRIALS, and each task's comparison.json, computed from the prediction files,
which are not kept) in
results/reproduction_smoke/, then builds REPORT.md and the charts there with scripts/build_report.py.

    .venv/bin/python bench/reproduction_smoke.py            # about 3 minutes on 2 cores
    .venv/bin/python bench/reproduction_smoke.py --report   # rebuild REPORT.md from the committed files only
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from common import REPO, SHARED_DATA, machine_facts

KEPT = ("run_done.json", "train_results.json", "test_results.json", "test_entities.json", "answers.tsv")
RESULTS = REPO / "results" / "reproduction_smoke"


def run_smoke() -> None:
    sys.path.insert(0, str(REPO))
    from bertft_utils.testing.lookalikes import VOCABULARY_SAMPLES, build_cache

    out = REPO / "outputs" / "reproduction_smoke"
    shutil.rmtree(out, ignore_errors=True)
    with tempfile.TemporaryDirectory() as hf_home:
        build_cache(Path(hf_home), [REPO / "data" / name for name in VOCABULARY_SAMPLES])
        env = {**os.environ, "HF_HOME": hf_home, "HF_HUB_OFFLINE": "1", "DATA_DIR": str(SHARED_DATA),
               "OUT": str(out), "PYTHON": sys.executable}
        subprocess.run(["bash", str(REPO / "scripts" / "reproduce_report.sh"), "--smoke"], env=env, check=True)
    facts = {**machine_facts(), "command": "bench/reproduction_smoke.py (scripts/reproduce_report.sh --smoke, "
             "DATA_DIR=../shared/data, tiny look-alikes of the nine checkpoints)"}  # before results/ is emptied
    shutil.rmtree(RESULTS, ignore_errors=True)
    RESULTS.mkdir(parents=True)
    (RESULTS / "facts.json").write_text(json.dumps(facts, indent=2) + "\n", encoding="utf-8")
    for path in [*out.glob("*/*/seed*/*"), *out.glob("*/comparison.json"), *out.glob("*/comparison_report.html"),
                 *out.glob("*/*/seed*/hp_search/*")]:
        if path.name in KEPT or path.name in ("comparison.json", "comparison_report.html", "best_config.json"):
            target = RESULTS / path.relative_to(out)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(path, target)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--report", action="store_true", help="Only rebuild REPORT.md from results/.")
    args = parser.parse_args()
    if not args.report:
        run_smoke()
    subprocess.run([sys.executable, str(REPO / "scripts" / "build_report.py"), "--out", str(RESULTS)], check=True)


if __name__ == "__main__":
    main()
