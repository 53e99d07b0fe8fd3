#!/usr/bin/env python
"""Quality of run_classify.py on the full Sarcasm v1 file with the embedded MiniLM.

Seeded stratified 80/10/10 split; each configuration is selected on validation (best epoch), and the configuration
reported is the one with the best validation accuracy. Test numbers are read once, at the end.

    .venv/bin/python bench/sarcasm_quality.py      # writes results/sarcasm.md, results/sarcasm.json
    .venv/bin/python bench/sarcasm_quality.py --configs all   # every configuration below (on a GPU)
"""

from __future__ import annotations

import argparse
import json
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
                     "validation": read_json(out / "eval_results.json"), "test": read_json(out / "test_results.json"),
                     "train": read_json(out / "train_results.json"),
                     "split": read_json(out / "split_ids.json")["sizes"]})
        print(name, rows[-1]["validation"]["eval_accuracy"], rows[-1]["test"]["test_accuracy"], flush=True)
        write_report(rows)  # after every configuration, so an interrupted run keeps what it measured


def write_report(rows: list[dict]) -> None:
    best = max(rows, key=lambda r: r["validation"]["eval_accuracy"])
    facts = machine_facts()
    payload = {"facts": facts, "rows": rows, "selected": best["config"]}
    result_path("sarcasm.json").write_text(json.dumps(payload, indent=2))
    lines = ["# Sarcasm headlines (v1, 26,709 lines): run_classify.py with the embedded MiniLM", "",
             f"Split: seeded (42) stratified 80/10/10, sizes {best['split']}. Max length 64 tokens, batch 32, bf16, "
             "linear schedule with 10% warm-up, best epoch chosen on validation accuracy; the configuration below "
             "marked *selected* has the best validation accuracy (test was not used to choose).", "",
             facts_markdown(facts, "python " + " ".join(sys.argv)),
             "| configuration | best epoch | val acc | test acc | test precision | test recall | test F1 | "
             "train samples/s | wall (min) |", "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        v, t = r["validation"], r["test"]
        mark = " *selected*" if r is best else ""
        lines.append(f"| {r['config']}{mark} | {r['best_epoch']:.0f} | {100 * v['eval_accuracy']:.2f} | "
                     f"{100 * t['test_accuracy']:.2f} | {t['test_precision']:.4f} | {t['test_recall']:.4f} | "
                     f"{t['test_f1']:.4f} | {r['train']['train_samples_per_second']:.0f} | {r['wall_s'] / 60:.1f} |")
    lines += ["", "Precision/recall/F1 are for the positive class (sarcastic = 1).", "",
              "## Beside the original report", "",
              "| model | parameters | accuracy | test F1 |", "|---|---:|---:|---:|"]
    for model, acc, f1 in ORIGINAL:
        name, size = model.split(" (")
        lines.append(f"| {name} (original report, {size.split(', ')[0]}) | {size.split(', ')[1].rstrip(')')} | "
                     f"{acc} | {f1} |")
    lines.append(f"| MiniLM-L6 (bertft, {best['config']}) | 22.7M | {100 * best['test']['test_accuracy']:.2f} (test) | "
                 f"{best['test']['test_f1']:.4f} |")
    lines += ["", "Reference measured on this machine with the same kind of split: the Hugging Face example "
              "`run_classification.py` reaches 92.51% test accuracy with MiniLM (3 epochs, lr 5e-5, batch 32, "
              "max length 64, bf16)."]
    result_path("sarcasm.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    sys.path.insert(0, str(REPO))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--configs", default="lr 5e-5, 4 epochs",
                        help=f"'all' or names separated by ';' out of: {'; '.join(CONFIGS)}")
    chosen = parser.parse_args().configs
    main(list(CONFIGS) if chosen == "all" else [name.strip() for name in chosen.split(";")])
