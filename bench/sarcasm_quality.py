#!/usr/bin/env python
"""Quality of run_classify.py on the full Sarcasm v1 file with the embedded MiniLM.

Seeded stratified 80/10/10 split; each configuration is selected on validation (best epoch), and the configuration
reported is the one with the best validation accuracy. Test numbers are read once, at the end.

    .venv/bin/python bench/sarcasm_quality.py      # writes results/sarcasm.md, results/sarcasm.json
    .venv/bin/python bench/sarcasm_quality.py --configs all   # every configuration below (on a GPU)
    .venv/bin/python bench/sarcasm_quality.py --report        # rewrite results/sarcasm.md from the JSON only
"""

from __future__ import annotations

import argparse
import json
import math
import sys

from common import REPO, SHARED_DATA, facts_markdown, machine_facts, read_json, result_path, run

DATA = SHARED_DATA / "sarcasm" / "Sarcasm_Headlines_Dataset.json"
OUT = REPO / "outputs" / "bench_sarcasm"
COMMON = ["--train_file", str(DATA), "--text_column_name", "headline", "--label_column_name", "is_sarcastic",
          "--validation_split_percentage", "10", "--test_split_percentage", "10", "--split_seed", "42",
          "--max_seq_length", "64", "--do_train", "--do_eval", "--do_predict", "--bf16",
          "--per_device_train_batch_size", "32", "--per_device_eval_batch_size", "128", "--warmup_steps", "0.1",
          "--weight_decay", "0.01", "--eval_strategy", "epoch", "--save_strategy", "epoch", "--save_total_limit", "1",
          "--load_best_model_at_end", "--metric_for_best_model", "accuracy", "--logging_steps", "50",
          "--disable_tqdm", "true", "--seed", "42"]
CONFIGS = {
    "lr 5e-5, 4 epochs": ["--learning_rate", "5e-5", "--num_train_epochs", "4"],
    "lr 3e-5, 5 epochs": ["--learning_rate", "3e-5", "--num_train_epochs", "5"],
    "lr 5e-5, 6 epochs": ["--learning_rate", "5e-5", "--num_train_epochs", "6"],
    "lr 1e-4, 5 epochs": ["--learning_rate", "1e-4", "--num_train_epochs", "5"],
}
# Not measured by a committed script: Hugging Face's examples/pytorch/text-classification/run_classification.py with
# MiniLM (3 epochs, lr 5e-5, batch 32, max length 64, bf16) on the same kind of split, run by hand in this project's
# first session on its 2-core AMD EPYC CPU machine; the date was not recorded.
HF_EXAMPLE = {"test_accuracy": 0.9251, "where": "the project's 2-core AMD EPYC CPU machine, first session (date not "
              "recorded), run by hand, not by a committed script"}
ORIGINAL = [("BERT (bert-base, 110M)", "92.12 (validation)", "0.9193"), ("ALBERT (albert-base, 12M)",
            "92.29 (validation)", ""), ("RoBERTa (roberta-base, 125M)", "92.56 (validation)", "")]


def main(names: list[str]) -> None:
    rows = []
    for name in names:
        flags = CONFIGS[name]
        out = OUT / name.replace(" ", "_").replace(",", "")
        wall = run("run_classify.py", [*COMMON, *flags, "--output_dir", str(out)], out.with_suffix(".log"))
        state = read_json(out / "trainer_state.json")
        evals = [h for h in state["log_history"] if "eval_accuracy" in h]
        rows.append({"config": name, "flags": " ".join(flags), "wall_s": wall,
                     "best_epoch": max(evals, key=lambda h: h["eval_accuracy"])["epoch"],
                     "validation_history": [{"epoch": h["epoch"], "eval_accuracy": h["eval_accuracy"],
                                             "eval_loss": h.get("eval_loss")} for h in evals],
                     "validation": read_json(out / "eval_results.json"), "test": read_json(out / "test_results.json"),
                     "train": read_json(out / "train_results.json"),
                     "split": read_json(out / "split_ids.json")["sizes"]})
        print(name, rows[-1]["validation"]["eval_accuracy"], rows[-1]["test"]["test_accuracy"], flush=True)
        write_report(rows)  # after every configuration, so an interrupted run keeps what it measured


def write_report(rows: list[dict]) -> None:
    """Record the run (with the machine and command, at run time) in the JSON, then render the .md from it."""
    best = max(rows, key=lambda r: r["validation"]["eval_accuracy"])
    payload = {"facts": machine_facts(), "command": "python " + " ".join(sys.argv), "rows": rows,
               "selected": best["config"]}
    result_path("sarcasm.json").write_text(json.dumps(payload, indent=2))
    render(payload)


def render(payload: dict) -> None:
    """results/sarcasm<suffix>.md, from the JSON alone: every number in it comes from the recorded runs."""
    rows = payload["rows"]
    best = next(r for r in rows if r["config"] == payload["selected"])
    command = payload.get("command", "python bench/sarcasm_quality.py")
    lines = ["# Sarcasm headlines (v1, 26,709 lines): run_classify.py with the embedded MiniLM", "",
             f"Split: seeded (42) stratified 80/10/10, sizes {best['split']}. Max length 64 tokens, batch 32, bf16, "
             "linear schedule with 10% warm-up, best epoch chosen on validation accuracy; the configuration below "
             "marked *selected* has the best validation accuracy (test was not used to choose).", "",
             facts_markdown(payload["facts"], command),
             "| configuration | best epoch | val acc | test acc | test precision | test recall | test F1 | "
             "train samples/s | wall (min) |", "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        v, t = r["validation"], r["test"]
        mark = " *selected*" if r is best else ""
        lines.append(f"| {r['config']}{mark} | {r['best_epoch']:.0f} | {100 * v['eval_accuracy']:.2f} | "
                     f"{100 * t['test_accuracy']:.2f} | {t['test_precision']:.4f} | {t['test_recall']:.4f} | "
                     f"{t['test_f1']:.4f} | {r['train']['train_samples_per_second']:.0f} | {r['wall_s'] / 60:.1f} |")
    histories = [r for r in rows if r.get("validation_history")]
    if histories:
        lines += ["", "Validation accuracy per epoch:", ""]
        lines += [f"- {r['config']}: " + ", ".join(f"{100 * h['eval_accuracy']:.2f}" for h in r["validation_history"])
                  for r in histories]
    lines += ["", "Precision/recall/F1 are for the positive class (sarcastic = 1).", "",
              "## Beside the original report", "",
              "| model | parameters | accuracy | test F1 |", "|---|---:|---:|---:|"]
    for model, acc, f1 in ORIGINAL:
        name, size = model.split(" (")
        lines.append(f"| {name} (original report, {size.split(', ')[0]}) | {size.split(', ')[1].rstrip(')')} | "
                     f"{acc} | {f1} |")
    lines.append(f"| MiniLM-L6 (bertft, {best['config']}) | 22.7M | {100 * best['test']['test_accuracy']:.2f} (test) | "
                 f"{best['test']['test_f1']:.4f} |")
    target = 0.93
    accuracies = ", ".join(f"{100 * r['test']['test_accuracy']:.2f}%" for r in rows)
    reached = [r["config"] for r in rows if r["test"]["test_accuracy"] >= target]
    short = math.ceil((target - best["test"]["test_accuracy"]) * best["split"]["test"])
    verdict = (f"reached by {', '.join(reached)}." if reached else
               f"not reached (test accuracies {accuracies}; the selected configuration is {short} of "
               f"{best['split']['test']:,} test headlines short).")
    lines += ["", "Hugging Face's example `run_classification.py` with MiniLM (3 epochs, lr 5e-5, batch 32, max "
              f"length 64, bf16) reached {100 * HF_EXAMPLE['test_accuracy']:.2f}% test accuracy on the same kind of "
              f"split, measured on {HF_EXAMPLE['where']}.", "",
              f"Target >= {100 * target:.0f}% test accuracy: {verdict}"]
    if payload.get("notes"):
        lines += ["", "## How this run was made", "", *[f"- {note}" for note in payload["notes"]]]
    result_path("sarcasm.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    sys.path.insert(0, str(REPO))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--configs", default="lr 5e-5, 4 epochs",
                        help=f"'all' or names separated by ';' out of: {'; '.join(CONFIGS)}")
    parser.add_argument("--report", action="store_true", help="Rewrite the .md from the committed JSON only.")
    options = parser.parse_args()
    if options.report:
        render(read_json(result_path("sarcasm.json")))
    else:
        main(list(CONFIGS) if options.configs == "all" else [name.strip() for name in options.configs.split(";")])
