#!/usr/bin/env python
"""NER as the data grows: the set-up of a training run on MSRA's training file repeated (each copy's sentences
varied so that none repeat; run_ner.py --max_steps 3), and tagging a large raw text with --predict_text_file
(MSRA's test sentences as lines, repeated): wall time, peak resident memory, phases.

    .venv/bin/python bench/scale_ner.py MODEL_DIR                 # training x1, x10; raw text 10k and 100k lines
    .venv/bin/python bench/scale_ner.py MODEL_DIR --copies 1 10 100 --text_lines 10000 1000000
    .venv/bin/python bench/scale_ner.py --report                  # rewrite the .md from the committed JSON only

MODEL_DIR is a token classifier fine-tuned with run_ner.py (bench/significance.py trains one on MSRA); the training
runs start from the embedded MiniLM. Each run is a fresh process measured by GNU time (see scale.py); the corpora are
written under outputs/bench_scale/ and reused.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from common import SHARED_DATA, earlier_runs, facts_markdown, machine_facts, read_json, with_earlier_runs, write_results
from scale import GOAL_GROWTH, PHASES, WORK, growth, run_cells, timed_run

MSRA = SHARED_DATA / "msra_ner"
TEXT_PHASES = (("imports and arguments", r"Process rank"), ("checking the raw text", r"Labels \("),
               ("tokenizer and model loading", r"Model: "), ("tagging and writing", None))


def sentences(path: Path) -> list[list[str]]:
    """The CoNLL lines of each sentence of an MSRA file."""
    blocks = path.read_text(encoding="utf-8").split("\n\n")
    return [block.strip("\n").split("\n") for block in blocks if block.strip()]


def training_corpus(copies: int) -> Path:
    """MSRA train `copies` times; copy k > 0 ends every sentence with the characters of `(k)`, tagged O."""
    path = WORK / f"msra_train_x{copies}.txt"
    if path.is_file():
        return path
    WORK.mkdir(parents=True, exist_ok=True)
    train = sentences(MSRA / "train.txt")
    with open(path.with_suffix(".tmp"), "w", encoding="utf-8") as handle:
        for copy in range(copies):
            marker = [f"{char}\tO" for char in f"({copy})"] if copy else []
            for lines in train:
                handle.write("\n".join([*lines, *marker]) + "\n\n")
    path.with_suffix(".tmp").rename(path)
    return path


def text_corpus(lines: int) -> Path:
    """`lines` lines of raw text: MSRA test's sentences, repeated in order."""
    path = WORK / f"msra_text_{lines}.txt"
    if path.is_file():
        return path
    WORK.mkdir(parents=True, exist_ok=True)
    texts = ["".join(line.split("\t")[0] for line in lines_) for lines_ in sentences(MSRA / "test.txt")]
    with open(path.with_suffix(".tmp"), "w", encoding="utf-8") as handle:
        for i in range(lines):
            handle.write(texts[i % len(texts)] + "\n")
    path.with_suffix(".tmp").rename(path)
    return path


def measure(model_dir: str | None, copies: list[int], text_lines: list[int]) -> dict:
    training, tagging = {}, {}
    for count in copies:
        data, out = training_corpus(count), WORK / f"ner_run_x{count}"
        row = timed_run([sys.executable, "run_ner.py", "--train_file", str(data), "--do_train", "--max_steps", "3",
                         "--max_seq_length", "128", "--per_device_train_batch_size", "32", "--save_strategy", "no",
                         "--html_report", "false", "--disable_tqdm", "true", "--output_dir", str(out)], out)
        if row["exit_code"] == 0:
            row["train_samples"] = read_json(out / "all_results.json").get("train_samples")
        training[str(count)] = {"sentences": 45000 * count, "bytes": data.stat().st_size, **row}
        print("train", count, training[str(count)], flush=True)
    for count in text_lines:
        data, out = text_corpus(count), WORK / f"ner_text_{count}"
        row = timed_run([sys.executable, "run_ner.py", "--model_name_or_path", model_dir, "--predict_text_file",
                         str(data), "--do_predict", "--html_report", "false", "--disable_tqdm", "true",
                         "--output_dir", str(out)], out, TEXT_PHASES)
        log = out.with_suffix(".log").read_text(encoding="utf-8")
        row["progress_lines_logged"] = log.count("records predicted in")
        if row["exit_code"] == 0:
            with open(out / "text_predictions.txt", encoding="utf-8") as handle:
                row["sentences_written"] = sum(1 for line in handle if line == "\n")
        tagging[str(count)] = {"lines": count, "bytes": data.stat().st_size, **row}
        print("text", count, tagging[str(count)], flush=True)
    return {"facts": machine_facts(), "model": model_dir, "model_shape": model_shape(model_dir),
            "training": training, "tagging": tagging,
            "command": "python bench/scale_ner.py " + ("MODEL_DIR " if model_dir else "") + "--copies "
                       + " ".join(map(str, copies)) + " --text_lines " + " ".join(map(str, text_lines)),
            "earlier": earlier_runs("scale_ner")}


def model_shape(model_dir: str | None) -> str | None:
    """The tagging model's type and size, from its config (a look-alike tags much faster than a full-size model)."""
    if not model_dir:
        return None
    config = read_json(Path(model_dir) / "config.json")
    return (f"{config.get('model_type')}, {config.get('num_hidden_layers')} layers of width "
            f"{config.get('hidden_size')}")


def growth_lines(rows: dict, unit: str) -> list[str]:
    """Time and memory growth between sizes: beyond the smallest run (scale.growth), or with two sizes only, the
    whole runs compared (start-up included)."""
    ordered = sorted(rows, key=int)
    lines = []
    failed = [size for size in ordered if rows[size].get("exit_code")]
    if failed:  # a killed run's time and memory are where it stopped: no growth to judge
        return [f"- {size} {unit}: the run failed (exit code {rows[size]['exit_code']}"
                + (": killed (SIGKILL), as the kernel kills a process for want of memory, at the peak shown" if
                   rows[size]["exit_code"] == 137 else "") + "): growth goal NOT met" for size in failed]
    if len(ordered) == 2:  # no third size to take the start-up from: whole runs compared (start-up included)
        small, large = rows[ordered[0]], rows[ordered[1]]
        factor = int(ordered[1]) / int(ordered[0])
        time_growth, memory_growth = large["wall_s"] / small["wall_s"], large["peak_rss_gib"] / small["peak_rss_gib"]
        verdict = "met" if max(time_growth, memory_growth) <= factor * GOAL_GROWTH else "NOT met"
        lines.append(f"- {ordered[0]} -> {ordered[1]} {unit} ({factor:.0f}x): whole run {time_growth:.1f}x, peak "
                     f"memory {memory_growth:.1f}x, start-up included (goal <= {factor * GOAL_GROWTH:.0f}x: {verdict})")
    for small, large, factor, time_growth, memory_growth, verdict in growth(rows):
        lines.append(f"- {small} -> {large} {unit} ({factor:.0f}x): time {time_growth:.1f}x, memory "
                     f"{memory_growth:.1f}x beyond the smallest run (goal <= {factor * GOAL_GROWTH:.0f}x: {verdict})")
    return lines


def training_lines(training: dict) -> list[str]:
    if not training:
        return ["This run did not set up training (`--copies` with no size)."]
    names = [name for name, _ in PHASES]
    lines = ["### Training set-up", "",
             "MSRA's training file (45,000 sentences) repeated, each copy's sentences ending in `(k)` so that none "
             "repeat; `run_ner.py --do_train --max_steps 3` from the embedded MiniLM (max length 128, the default "
             "80/10/10 split, validation and test set aside), one fresh process per size under GNU time; phases from "
             "the log's timestamps (one-second resolution).", "",
             "| copies | sentences | CoNLL file (MB) | whole run (s) | peak memory (GiB) | " + " | ".join(names) + " |",
             "|---:|---:|---:|---:|---:|" + "---:|" * len(names)]
    for count in sorted(training, key=int):
        row = training[count]
        lines.append(f"| {count} | {row['sentences']:,} | {row['bytes'] / 1e6:.0f} | {run_cells(row, names)}")
    return [*lines, "", *growth_lines(training, "copies")]


def report_run(data: dict) -> list[str]:
    lines = [facts_markdown(data["facts"], data["command"]), *training_lines(data["training"])]
    tagging = data["tagging"]
    if not tagging:
        return [*lines, "", "This run did not tag a raw text (`--text_lines` with no size)."]
    text_names = [name for name, _ in TEXT_PHASES]
    lines += ["", "### Tagging a raw text (--predict_text_file)", "",
              f"MSRA's test sentences as lines, repeated; `run_ner.py --model_name_or_path {Path(data['model']).name} "
              "--predict_text_file ... --do_predict` (read, tagged and written 10,000 sentences at a time)"
              + (f"; the model: {data['model_shape']}." if data.get("model_shape") else "."), "",
              "| lines | text (MB) | whole run (s) | lines per second | peak memory (GiB) | progress lines logged | "
              "sentences written | " + " | ".join(text_names) + " |",
              "|---:|---:|---:|---:|---:|---:|---:|" + "---:|" * len(text_names)]
    tagging = data["tagging"]
    for count in sorted(tagging, key=int):
        row = tagging[count]
        failed = f" (exit code {row['exit_code']})" if row.get("exit_code") else ""
        lines.append(f"| {row['lines']:,} | {row['bytes'] / 1e6:.1f} | {row['wall_s']:.1f}{failed} | "
                     f"{row['lines'] / row['wall_s']:.0f} | {row['peak_rss_gib']:.2f} | "
                     f"{row['progress_lines_logged']} | {row.get('sentences_written', 0):,} | " + " | ".join(
                         f"{row['phases_s'][n]:.0f}" if n in row["phases_s"] else "" for n in text_names) + " |")
    ordered = sorted(tagging, key=int)
    if len(ordered) >= 2:
        small, large = tagging[ordered[0]], tagging[ordered[-1]]
        flat = large["peak_rss_gib"] <= 1.1 * small["peak_rss_gib"]
        lines += ["", f"Peak memory from {small['lines']:,} to {large['lines']:,} lines: {small['peak_rss_gib']:.2f} "
                  f"-> {large['peak_rss_gib']:.2f} GiB ({'constant within 10%' if flat else 'NOT constant'}); time "
                  f"per line {small['wall_s'] / small['lines'] * 1000:.1f} -> "
                  f"{large['wall_s'] / large['lines'] * 1000:.1f} ms."]
    return lines


def report(data: dict) -> str:
    return with_earlier_runs(["# Scale: NER training set-up and raw-text tagging as the data grows", "",
                              "Generated by `bench/scale_ner.py` from `results/scale_ner.json`; do not edit."],
                             data, report_run)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model_dir", nargs="?", help="a token classifier fine-tuned with run_ner.py")
    parser.add_argument("--copies", type=int, nargs="*", default=[1, 10],
                        help="Copies of MSRA's training file (none: raw-text tagging only).")
    parser.add_argument("--text_lines", type=int, nargs="*", default=[10_000, 100_000],
                        help="Raw-text sizes (none: the training set-up only, no MODEL_DIR needed).")
    parser.add_argument("--report", action="store_true", help="Only rewrite the .md from the committed JSON.")
    args = parser.parse_args()
    if not args.report and args.text_lines and not args.model_dir:
        parser.error("give MODEL_DIR (a run_ner.py model) to tag raw text, or --text_lines with no size, or --report")
    model_dir = str(Path(args.model_dir).resolve()) if args.model_dir else None
    write_results("scale_ner", report, None if args.report else
                  lambda: measure(model_dir, args.copies, args.text_lines))


if __name__ == "__main__":
    main()
