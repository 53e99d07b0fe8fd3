#!/usr/bin/env python
"""Does drawing dropout masks from 16-bit integers change what is trained? (issue 23, part 5)

run_classify.py on Sarcasm v2 (3,000 training headlines, 1 epoch, bf16, batch 32; validation: 10% of the file, at
most 2,000 headlines), with `--dropout_masks torch` and `--dropout_masks 16bit` for each of SEEDS seeds, the two
interleaved seed by seed. The masks change the random numbers a seed gives, so single runs differ; the question is
whether the spread across seeds differs: final training loss, validation loss and accuracy, mean and standard
deviation per kind of mask, and the difference of the means with a Welch t-test (scipy).

    .venv/bin/python bench/dropout_masks.py            # writes results/dropout_masks.{md,json}
    .venv/bin/python bench/dropout_masks.py --report   # the .md from the committed JSON only
"""

from __future__ import annotations

import statistics
import sys
import tempfile
from pathlib import Path

from common import SHARED_DATA, facts_markdown, machine_facts, read_json, run, write_results

DATA = SHARED_DATA / "sarcasm" / "Sarcasm_Headlines_Dataset_v2.json"
SEEDS = (1, 2, 3, 4, 5)
MASKS = ("torch", "16bit")
COMMAND = "python bench/dropout_masks.py"
COMMON = ["--train_file", str(DATA), "--text_column_name", "headline", "--label_column_name", "is_sarcastic",
          "--validation_split_percentage", "10", "--test_split_percentage", "0", "--split_seed", "42",
          "--max_train_samples", "3000", "--max_eval_samples", "2000", "--do_train", "--do_eval", "--bf16",
          "--num_train_epochs", "1", "--per_device_train_batch_size", "32", "--save_strategy", "no",
          "--logging_strategy", "no", "--disable_tqdm", "true"]
MEASURES = {"train_loss": ("train_results.json", "train_loss"), "eval_loss": ("eval_results.json", "eval_loss"),
            "eval_accuracy": ("eval_results.json", "eval_accuracy")}


def measure() -> dict:
    facts = machine_facts()
    print(facts_markdown(facts, COMMAND), flush=True)
    runs: dict[str, list[dict]] = {masks: [] for masks in MASKS}
    with tempfile.TemporaryDirectory() as tmp_name:
        for seed in SEEDS:
            for masks in MASKS:
                out = Path(tmp_name) / f"{masks}-{seed}"
                wall = run("run_classify.py", [*COMMON, "--seed", str(seed), "--dropout_masks", masks,
                                               "--output_dir", str(out)], out.with_suffix(".log"))
                row = {"seed": seed, "wall_s": round(wall, 1),
                       "train_samples_per_second": read_json(out / "train_results.json")["train_samples_per_second"]}
                row.update({name: read_json(out / file)[key] for name, (file, key) in MEASURES.items()})
                runs[masks].append(row)
                print(masks, row, flush=True)
    return {"facts": facts, "command": COMMAND, "seeds": list(SEEDS), "runs": runs}


def report(payload: dict) -> str:
    from scipy.stats import ttest_ind

    runs = payload["runs"]
    lines = ["# Dropout masks from 16-bit integers: what is trained", "",
             "run_classify.py, embedded MiniLM-L6, Sarcasm v2: 3,000 training headlines, 1 epoch, bf16, batch 32; "
             "validation 10% of the file (at most 2,000 headlines). Each seed trained with torch's masks and with "
             "16-bit ones (`--dropout_masks`), interleaved.", "",
             facts_markdown(payload["facts"], payload["command"]),
             "| measure | torch's masks: mean (sd) | 16-bit masks: mean (sd) | difference | Welch t-test p |",
             "|---|---:|---:|---:|---:|"]
    for name in (*MEASURES, "train_samples_per_second"):
        torch_values = [r[name] for r in runs["torch"]]
        ours = [r[name] for r in runs["16bit"]]
        p = ttest_ind(ours, torch_values, equal_var=False).pvalue
        digits = 1 if name == "train_samples_per_second" else 4
        theirs_mean, theirs_sd = statistics.mean(torch_values), statistics.stdev(torch_values)
        lines.append(f"| {name} | {theirs_mean:.{digits}f} ({theirs_sd:.{digits}f}) | "
                     f"{statistics.mean(ours):.{digits}f} ({statistics.stdev(ours):.{digits}f}) | "
                     f"{statistics.mean(ours) - statistics.mean(torch_values):+.{digits}f} | {p:.2f} |")
    lines += ["", "A p-value is the chance of a difference of means at least this large if both masks trained alike. "
              "The speed of the two is measured in `results/train_throughput_bf16_paired.md`, each run paired with "
              "a baseline run of its own round; the samples/s here are single runs on a CPU whose speed drifts.",
              "", f"{len(payload['seeds'])} seeds each ({', '.join(map(str, payload['seeds']))}). Per run:", "",
              "| seed | masks | train_loss | eval_loss | eval_accuracy | train samples/s | whole run (s) |",
              "|---:|---|---:|---:|---:|---:|---:|"]
    for masks, rows in runs.items():
        for r in rows:
            lines.append(f"| {r['seed']} | {masks} | {r['train_loss']:.4f} | {r['eval_loss']:.4f} | "
                         f"{r['eval_accuracy']:.4f} | {r['train_samples_per_second']:.1f} | {r['wall_s']:.1f} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    write_results("dropout_masks", report, None if "--report" in sys.argv else measure)
