#!/usr/bin/env python
"""The MSRA model the prediction-speed benches measure (`outputs/msra_quick`): the embedded MiniLM + added characters,
400 optimizer steps of batch 32 by `bench/msra_quality.py`'s recipe, precision chosen by measurement. Prediction speed
does not depend on how long a model was trained; its F1 does, so the benches print it beside their timings.

    .venv/bin/python bench/msra_quick_model.py          # about 7 minutes in fp32 on 2 cores, less where bf16 is native
"""

from __future__ import annotations

import sys

from common import REPO, read_json, run
from msra_quality import BATCH, COMMON, RECIPE

OUT = REPO / "outputs" / "msra_quick"
STEPS = 400


def main() -> None:
    wall = run("run_ner.py", [*COMMON, *BATCH, *RECIPE, "--max_steps", str(STEPS), "--save_strategy", "no",
                              "--eval_strategy", "no", "--do_train", "--output_dir", str(OUT)],
               OUT.with_suffix(".log"))
    print(f"{OUT}: {read_json(OUT / 'train_results.json')}, {wall:.0f} s in all")


if __name__ == "__main__":
    sys.exit(main())
