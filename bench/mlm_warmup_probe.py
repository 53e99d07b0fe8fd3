#!/usr/bin/env python
"""Does a masked-LM warm-up (--mlm_warmup_epochs) help the added characters? Taipei QA, plain template.

Same committed split, seed and recipe for every variant; only the warm-up differs. Writes
results/mlm_warmup_probe<suffix>.md/.json (suffix: BERTFT_BENCH_SUFFIX, see common.py).

    .venv/bin/python bench/mlm_warmup_probe.py --epochs 5 --warmup-epochs 3            # on 2 CPU cores: ~45 min
    python3 bench/mlm_warmup_probe.py --epochs 10 --warmup-epochs 3 --parallel         # on a GPU: all at once
"""

from __future__ import annotations

import argparse
import json
import sys
from concurrent.futures import ThreadPoolExecutor

from common import REPO, SHARED_DATA, facts_markdown, machine_facts, read_json, result_path, run

DATA = SHARED_DATA / "taipei_qa" / "Taipei_QA_new.txt"
SPLIT = REPO / "results" / "taipei_qa_split_ids.json"
OUT = REPO / "outputs" / "bench_mlm_warmup"
RECIPE = ["--add_unk_chars", "--learning_rate", "1e-4", "--embedding_learning_rate", "2e-3", "--max_seq_length", "128",
          "--bf16", "--per_device_train_batch_size", "32", "--per_device_eval_batch_size", "128",
          "--warmup_steps", "0.06", "--weight_decay", "0.01", "--eval_strategy", "epoch", "--save_strategy", "no",
          "--logging_steps", "50", "--disable_tqdm", "true", "--seed", "42", "--do_train", "--do_eval",
          "--do_predict"]


def variants(warmup_epochs: float) -> dict[str, list[str]]:
    return {"no warm-up": [],
            "warm-up, embeddings only": ["--mlm_warmup_epochs", str(warmup_epochs), "--mlm_warmup_trains",
                                         "embeddings"],
            "warm-up, all layers": ["--mlm_warmup_epochs", str(warmup_epochs), "--mlm_warmup_trains", "all"]}


def one(name: str, flags: list[str], epochs: int) -> dict:
    out = OUT / name.replace(" ", "_").replace(",", "")
    wall = run("run_qa_label.py", ["--train_file", str(DATA), "--split_file", str(SPLIT), *RECIPE, *flags,
                                   "--num_train_epochs", str(epochs), "--output_dir", str(out)],
               out.with_suffix(".log"))
    history = [h["eval_accuracy"] for h in read_json(out / "trainer_state.json")["log_history"]
               if "eval_accuracy" in h]
    warm_up = out / "mlm_warmup_results.json"
    return {"variant": name, "flags": " ".join(flags), "wall_s": wall, "validation_history": history,
            "test": read_json(out / "test_results.json"), "warm_up": read_json(warm_up) if warm_up.exists() else None}


def main(options: argparse.Namespace) -> None:
    chosen = variants(options.warmup_epochs)
    with ThreadPoolExecutor(max_workers=len(chosen) if options.parallel else 1) as pool:
        rows = list(pool.map(lambda item: one(*item, options.epochs), chosen.items()))
    payload = {"facts": machine_facts(), "command": "python " + " ".join(sys.argv), "epochs": options.epochs,
               "warmup_epochs": options.warmup_epochs, "parallel": options.parallel, "rows": rows}
    result_path("mlm_warmup_probe.json").write_text(json.dumps(payload, indent=2))
    render(payload)


def render(payload: dict) -> None:
    """results/mlm_warmup_probe<suffix>.md from the JSON alone."""
    rows = payload["rows"]
    epochs = payload.get("epochs") or len(rows[0]["validation_history"])
    warm = payload.get("warmup_epochs") or next((r["warm_up"]["epochs"] for r in rows if r["warm_up"]), 0)
    lines = ["# Masked-LM warm-up probe: Taipei QA, plain template, embedded MiniLM + added characters", "",
             facts_markdown(payload["facts"], payload.get("command", "python bench/mlm_warmup_probe.py")),
             f"{epochs} fine-tuning epochs, committed split, seed 42, lr 1e-4 / embeddings 2e-3, batch 32; "
             f"the warm-up runs {warm:g} masked-LM epochs on the training questions first"
             + (" (variants ran at the same time)." if payload.get("parallel") else "."), "",
             "| variant | warm-up loss (first → mean) | validation top-1 per epoch | test top-1 | test top-3 | "
             "wall (min) |", "|---|---|---|---:|---:|---:|"]
    for r in rows:
        w = r["warm_up"]
        loss = f"{w['first_logged_loss']:.2f} → {w['train_loss']:.2f}" if w else "-"
        curve = " ".join(f"{100 * a:.1f}" for a in r["validation_history"])
        lines.append(f"| {r['variant']} | {loss} | {curve} | {100 * r['test']['test_accuracy']:.2f} | "
                     f"{100 * r['test']['test_top3_accuracy']:.2f} | {r['wall_s'] / 60:.1f} |")
    if payload.get("notes"):
        lines += ["", "## How this run was made", "", *[f"- {note}" for note in payload["notes"]]]
    result_path("mlm_warmup_probe.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    sys.path.insert(0, str(REPO))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--warmup-epochs", type=float, default=3)
    parser.add_argument("--parallel", action="store_true", help="run the variants at the same time (a GPU)")
    parser.add_argument("--report", action="store_true", help="Rewrite the .md from the committed JSON only.")
    options = parser.parse_args()
    if options.report:
        render(read_json(result_path("mlm_warmup_probe.json")))
    else:
        main(options)
