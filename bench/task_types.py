#!/usr/bin/env python
"""One measured run per task type of run_classify.py beyond single-label classification, on public data in its
original format, each beside a published score of a comparable model: multi-label emotions (GoEmotions, 28 labels),
sentence pairs (MRPC paraphrases), regression over pairs (STS benchmark); and long texts, truncated or read as
windows (ChnSentiCorp hotel reviews).

The data are not in this repository: pass the folder of each (`--goemotions DIR`: train.tsv, dev.tsv, test.tsv and
labels.txt as the GoEmotions release has them; `--mrpc DIR`: msr_paraphrase_train.txt and msr_paraphrase_test.txt
as Microsoft's release has them; `--sts DIR`: sts-train.csv, sts-dev.csv, sts-test.csv; `--hotel-reviews DIR`:
ChnSentiCorp_htl_all.csv). The JSON records where they came from and each file's SHA-256.

Every run keeps its folder under outputs/bench_task_types: rerunning after an interruption skips the runs whose
test_results.json exists.

    .venv/bin/python bench/task_types.py --goemotions DIR --mrpc DIR   # about 40 minutes on 2 cores
    .venv/bin/python bench/task_types.py --report                      # results/task_types.md from the JSON only
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shlex
from pathlib import Path

from common import REPO, facts_markdown, machine_facts, read_json, run, write_results

OUT = REPO / "outputs" / "bench_task_types"
TRAINING = ["--learning_rate", "5e-5", "--per_device_train_batch_size", "32", "--per_device_eval_batch_size", "128",
            "--warmup_steps", "0.1", "--weight_decay", "0.01", "--eval_strategy", "epoch", "--save_strategy", "epoch",
            "--save_total_limit", "1", "--load_best_model_at_end", "--logging_steps", "100", "--disable_tqdm", "true",
            "--do_train", "--do_eval", "--do_predict", "--seed", "42"]
# MiniLM knows 244 CJK characters: the others are added to its vocabulary with a learning rate of their own, the
# recipe of results/msra.md and results/taipei_qa.md (learning rate 1e-4, added embeddings 2e-3).
CHINESE_RECIPE = ["--add_unk_chars", "--embedding_learning_rate", "2e-3"]
PROVENANCE = {
    "goemotions": "GoEmotions (Demszky et al., ACL 2020: 58k Reddit comments, 27 emotions + neutral; the paper's "
                  "train/dev/test split, tsv without header: text, comma-separated label ids, comment id), as "
                  "redistributed in github.com/monologg/GoEmotions-pytorch data/original (commit b75f9d3a8b76), "
                  "from google-research/google-research goemotions/data",
    "mrpc": "Microsoft Research Paraphrase Corpus (Dolan & Brockett, 2005), msr_paraphrase_train.txt / "
            "msr_paraphrase_test.txt as Microsoft's installer writes them (tsv with a UTF-8 BOM: Quality, #1 ID, "
            "#2 ID, #1 String, #2 String; 4,076 training and 1,725 test pairs), as redistributed in github.com/{repo} "
            "(commit {commit}: MSRP_Corpus/msr_paraphrase_train_backup.txt, the untouched training file, and "
            "MSRP_Corpus/msr_paraphrase_test.txt)",
}
PROVENANCE["hotel"] = (
    "ChnSentiCorp hotel reviews (Tan Songbo's ChnSentiCorp, the 7,766-review 'htl_all' version: label 1 positive, "
    "0 negative; csv with a header: label,review), as published in github.com/{repo} (commit {commit}: "
    "datasets/ChnSentiCorp_htl_all/ChnSentiCorp_htl_all.csv)")
PROVENANCE["stsb"] = (
    "STS Benchmark (Cer et al., SemEval 2017: 8,628 English sentence pairs scored 0-5, the official train/dev/test "
    "split; tsv without header: genre, file, year, id, score, sentence1, sentence2 and on some lines two source "
    "fields), stsbenchmark/sts-{{train,dev,test}}.csv as distributed, redistributed in github.com/{repo} "
    "(commit {commit})")
REFERENCES = {
    "goemotions": [("BERT-base, the GoEmotions paper (Demszky et al. 2020, table 4; threshold 0.3)", "macro F1",
                    0.46),
                   ("bert-base-cased, monologg/GoEmotions-pytorch README (10 epochs, threshold 0.3)", "macro F1",
                    0.503)],
    "stsb": [("BERT-base, the BERT paper (Devlin et al. 2019, table 1; GLUE test server, Spearman)", "Spearman",
              0.858),
             ("all-MiniLM-L6-v2 without fine-tuning (cosine of its sentence embeddings; sentence-transformers' "
              "model table, STS benchmark test)", "Spearman", 0.8203)],
    "mrpc": [("BERT-base, the BERT paper (Devlin et al. 2019, table 1; GLUE test server)", "F1", 0.889)],
}


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def finished(out: Path, args: list[str], log: Path) -> float | None:
    """Run run_classify.py unless its folder already holds test_results.json; the whole command's wall seconds
    (kept in wall_s.txt beside the results; None when an earlier version of this bench made the folder)."""
    if not (out / "test_results.json").is_file():
        wall = run("run_classify.py", [*args, "--output_dir", str(out)], log)
        (out / "wall_s.txt").write_text(f"{wall:.1f}\n")
    return float((out / "wall_s.txt").read_text()) if (out / "wall_s.txt").is_file() else None


def training_minutes(out: Path) -> float | None:
    """The Trainer's own training time (train_results.json), in minutes."""
    path = out / "train_results.json"
    return json.loads(path.read_text())["train_runtime"] / 60 if path.is_file() else None


def goemotions(folder: Path, epochs: int, learning_rates: list[str]) -> dict:
    """Per learning rate: one training (thresholds tuned on dev), then its saved model predicting the test file with
    one fixed threshold for every label (0.3, the paper's; 0.5)."""
    names = (folder / "labels.txt").read_text(encoding="utf-8").split()
    renames = OUT / "goemotions_label_names.txt"
    renames.parent.mkdir(parents=True, exist_ok=True)
    renames.write_text("".join(f"{i}={name}\n" for i, name in enumerate(names)), encoding="utf-8")
    data = ["--train_file", str(folder / "train.tsv"), "--validation_file", str(folder / "dev.tsv"), "--test_file",
            str(folder / "test.tsv"), "--column_names", "text,labels,id", "--label_column_name", "labels",
            "--label_delimiter", ",", "--rename_labels", str(renames), "--max_seq_length", "64"]
    configs = {}
    for rate in learning_rates:
        name = "goemotions" if rate == "5e-5" else f"goemotions_lr{rate}"  # the first run's folder kept its name
        out = OUT / name
        flags = [flag for flag in TRAINING]
        flags[flags.index("--learning_rate") + 1] = rate
        command = [*data, *flags, "--num_train_epochs", str(epochs), "--metric_for_best_model", "macro_f1"]
        wall = finished(out, command, OUT / f"{name}.log")
        runs = {"tuned": {"command": shlex.join(["python", "run_classify.py", *command]), "wall_s": wall,
                          "train_minutes": training_minutes(out), "validation": read_json(out / "eval_results.json"),
                          "test": read_json(out / "test_results.json"),
                          "thresholds": read_json(out / "thresholds.json")}}
        for fixed in ("0.3", "0.5"):  # the saved model, the same test file, one threshold for every label
            again = OUT / f"{name}_fixed_{fixed}"
            predict = [*data[4:], "--model_name_or_path", str(out), "--multilabel_threshold", fixed,
                       "--do_predict", "--per_device_eval_batch_size", "128"]
            finished(again, predict, OUT / f"{name}_fixed_{fixed}.log")
            runs[f"fixed {fixed}"] = {"command": shlex.join(["python", "run_classify.py", *predict]),
                                      "test": read_json(again / "test_results.json")}
        configs[rate] = runs
    return {"provenance": PROVENANCE["goemotions"], "epochs": epochs,
            "files": {name: sha256(folder / name) for name in ("train.tsv", "dev.tsv", "test.tsv", "labels.txt")},
            "configs": configs}


def mrpc(folder: Path, epochs: int, source: str) -> dict:
    repo, commit = source.split("@")
    data = ["--train_file", str(folder / "msr_paraphrase_train.txt"), "--test_file",
            str(folder / "msr_paraphrase_test.txt"), "--data_format", "tsv", "--text_column_name", "#1 String",
            "--text_pair_column_name", "#2 String", "--label_column_name", "Quality", "--validation_split_percentage",
            "10", "--test_split_percentage", "0", "--max_seq_length", "128"]
    out = OUT / "mrpc"
    command = [*data, *TRAINING, "--num_train_epochs", str(epochs), "--metric_for_best_model", "f1"]
    wall = finished(out, command, OUT / "mrpc.log")
    return {"provenance": PROVENANCE["mrpc"].format(repo=repo, commit=commit[:12]), "epochs": epochs,
            "files": {name: sha256(folder / name) for name in ("msr_paraphrase_train.txt",
                                                                "msr_paraphrase_test.txt")},
            "runs": {"pairs": {"command": shlex.join(["python", "run_classify.py", *command]), "wall_s": wall,
                               "train_minutes": training_minutes(out),
                               "validation": read_json(out / "eval_results.json"),
                               "test": read_json(out / "test_results.json")}}}


def sts(folder: Path, epochs: int, source: str) -> dict:
    repo, commit = source.split("@")
    files = ("sts-train.csv", "sts-dev.csv", "sts-test.csv")
    data = ["--train_file", str(folder / files[0]), "--validation_file", str(folder / files[1]), "--test_file",
            str(folder / files[2]), "--data_format", "tsv", "--column_names",
            "genre,file,year,id,score,sentence1,sentence2,source1,source2", "--text_column_name", "sentence1",
            "--text_pair_column_name", "sentence2", "--label_column_name", "score", "--do_regression",
            "--max_seq_length", "128"]
    out = OUT / "stsb"
    command = [*data, *TRAINING, "--num_train_epochs", str(epochs), "--metric_name", "pearson"]
    wall = finished(out, command, OUT / "stsb.log")
    return {"provenance": PROVENANCE["stsb"].format(repo=repo, commit=commit[:12]), "epochs": epochs,
            "files": {name: sha256(folder / name) for name in files},
            "runs": {"regression": {"command": shlex.join(["python", "run_classify.py", *command]), "wall_s": wall,
                                    "train_minutes": training_minutes(out),
                                    "validation": read_json(out / "eval_results.json"),
                                    "test": read_json(out / "test_results.json")}}}


def long_texts(folder: Path, epochs: int, source: str) -> dict:
    """Hotel reviews, truncated vs read as windows: the same split, model and recipe; scored on every test review
    and on the long ones, and compared with `python -m bertft_utils.compare`."""
    import csv
    import subprocess
    import sys

    from transformers import AutoTokenizer

    repo, commit = source.split("@")
    original = folder / "ChnSentiCorp_htl_all.csv"
    with open(original, encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    empty = [number for number, row in enumerate(rows, start=1) if number > 1 and not row[1].strip()]
    kept = OUT / "ChnSentiCorp_htl_all.nonempty.csv"  # run_classify.py refuses an empty text, naming its line
    kept.parent.mkdir(parents=True, exist_ok=True)
    with open(kept, "w", encoding="utf-8", newline="") as handle:
        csv.writer(handle, lineterminator="\n").writerows(row for number, row in enumerate(rows, start=1)
                                                          if number not in empty)
    data = ["--train_file", str(kept), "--text_column_name", "review", "--label_column_name", "label",
            "--validation_split_percentage", "10", "--test_split_percentage", "10", "--max_seq_length", "128"]
    runs = {}
    for strategy in ("truncate", "windows"):
        out = OUT / f"hotel_{strategy}"
        flags = [flag for flag in TRAINING]
        flags[flags.index("--learning_rate") + 1] = "1e-4"
        command = [*data, *CHINESE_RECIPE, *flags, "--num_train_epochs", str(epochs), "--metric_for_best_model",
                   "accuracy", "--long_text_strategy", strategy]
        wall = finished(out, command, OUT / f"hotel_{strategy}.log")
        runs[strategy] = {"command": shlex.join(["python", "run_classify.py", *command]), "wall_s": wall,
                          "train_minutes": training_minutes(out),
                          "validation": read_json(out / "eval_results.json"),
                          "test": read_json(out / "test_results.json")}
    tokenizer = AutoTokenizer.from_pretrained(OUT / "hotel_truncate")
    for strategy, entry in runs.items():
        with open(OUT / f"hotel_{strategy}" / "predictions.tsv", encoding="utf-8", newline="") as handle:
            predictions = list(csv.DictReader(handle, delimiter="\t"))
        lengths = [len(ids) for ids in tokenizer([row["text"] for row in predictions])["input_ids"]]
        long = [row for row, length in zip(predictions, lengths, strict=True) if length > 128]
        entry["long_test_reviews"] = len(long)
        entry["test_reviews"] = len(predictions)
        entry["long_accuracy"] = sum(row["gold"] == row["predicted"] for row in long) / max(len(long), 1)
        entry["short_accuracy"] = (sum(row["gold"] == row["predicted"] for row in predictions if row not in long)
                                   / max(len(predictions) - len(long), 1))
    comparison = OUT / "hotel_comparison"
    subprocess.run([sys.executable, "-m", "bertft_utils.compare", str(OUT / "hotel_truncate"),
                    str(OUT / "hotel_windows"), "--group", f"truncate={OUT / 'hotel_truncate'}",
                    "--group", f"windows={OUT / 'hotel_windows'}", "--output", str(comparison)], cwd=REPO,
                   check=True, capture_output=True)
    return {"provenance": PROVENANCE["hotel"].format(repo=repo, commit=commit[:12]), "epochs": epochs,
            "files": {original.name: sha256(original)}, "empty_review_lines": empty, "runs": runs,
            "comparison": read_json(comparison / "comparison.json")}


def measure(args) -> dict:
    """The tasks this invocation names, measured (each entry records its own command, date and commit); the other
    tasks keep their entries of results/task_types.json."""
    import sys

    data = json.loads(args.previous.read_text()) if args.previous and args.previous.is_file() else {}
    facts = machine_facts()
    measured = {"command": shlex.join(["python", "bench/task_types.py", *sys.argv[1:]]), "date_utc":
                facts["date_utc"], "git_commit": facts["git_commit"]}
    tasks = dict(data.get("tasks", {}))
    if args.goemotions:
        tasks["goemotions"] = {**goemotions(args.goemotions, args.epochs, args.goemotions_lr), "measured": measured}
    if args.mrpc:
        tasks["mrpc"] = {**mrpc(args.mrpc, args.mrpc_epochs, args.mrpc_source), "measured": measured}
    if args.sts:
        tasks["stsb"] = {**sts(args.sts, args.sts_epochs, args.sts_source), "measured": measured}
    if args.hotel_reviews:
        tasks["hotel"] = {**long_texts(args.hotel_reviews, args.hotel_epochs, args.hotel_source),
                          "measured": measured}
    return {"command": measured["command"], "facts": facts, "tasks": tasks}


def data_lines(task: dict) -> list[str]:
    """A section's lines on its data (provenance, files' SHA-256) and on the invocation that measured it."""
    files = ", ".join(f"{name} {digest[:12]}" for name, digest in task["files"].items())
    return [f"Data: {task['provenance']}. SHA-256: {files}.", "", measured_line(task), ""]


def measured_line(task: dict) -> str:
    """Which bench command measured a task, when, at which commit."""
    measured = task.get("measured")
    if not measured:
        return ""
    return (f"Measured by `{measured['command']}` on {measured['date_utc']} UTC, commit {measured['git_commit']}; the "
            "runs it found finished were kept, not rerun.")


def minutes(entry: dict) -> str:
    """'training 6.1 min, whole command 7.0 min' from what the entry holds."""
    parts = [f"training {entry['train_minutes']:.1f} min" if entry.get("train_minutes") else "",
             f"whole command {entry['wall_s'] / 60:.1f} min" if entry.get("wall_s") else ""]
    return ", ".join(part for part in parts if part)


def with_interval(test: dict, name: str) -> str:
    """'85.50 (83.92-86.94)': a test metric x 100 with its 95% interval."""
    return f"{cell(test[name])} ({cell(test.get(name + '_ci_low'))}-{cell(test.get(name + '_ci_high'))})"


def cell(value, scale: float = 100.0) -> str:
    return "" if value is None else f"{value * scale:.2f}"


def report(data: dict) -> str:
    lines = ["# run_classify.py beyond single labels: multi-label, sentence pairs, regression and long texts, on "
             "public data", "",
             facts_markdown(data["facts"], "python bench/task_types.py --TASK DIR ... (one invocation per task; each "
                            "section below names its own command, date and commit)"), ""]
    tasks = data["tasks"]
    if "goemotions" in tasks:
        task = tasks["goemotions"]
        lines += ["## Multi-label: GoEmotions (28 labels), the embedded MiniLM", "",
                  *data_lines(task),
                  f"Training: {task['epochs']} epochs, batch 32, max length 64, best epoch by validation macro F1; "
                  "thresholds per label tuned on the dev file (highest F1 per label) and stored with the model; the "
                  "same saved model then predicted the test file with one threshold for all labels.", "",
                  "| learning rate | thresholds | test macro F1 | micro F1 | weighted F1 | subset accuracy | Hamming "
                  "loss | labels per comment (gold / predicted) |", "|---|---|---:|---:|---:|---:|---:|---:|"]
        for rate, runs in task["configs"].items():
            for name, entry in runs.items():
                test = entry["test"]
                lines.append(f"| {rate} | {name} | {with_interval(test, 'test_macro_f1')} "
                             f"| {cell(test['test_f1'])} | {cell(test['test_weighted_f1'])} | "
                             f"{cell(test['test_subset_accuracy'])} | {test['test_hamming_loss']:.4f} | "
                             f"{test['test_label_cardinality']:.3f} / {test['test_predicted_label_cardinality']:.3f} |")
        lines += ["", "Macro F1 with its 95% bootstrap interval (test comments resampled). Published scores of "
                  "comparable models on the same test file:", ""]
        lines += [f"- {name}: {metric} {value * 100:.1f}" for name, metric, value in REFERENCES["goemotions"]]
        lines.append("")
        lines += [f"Command (lr {rate}): `{runs['tuned']['command']}` ({minutes(runs['tuned'])})"
                  for rate, runs in task["configs"].items()]
        lines.append("")
    if "mrpc" in tasks:
        task = tasks["mrpc"]
        entry = task["runs"]["pairs"]
        test = entry["test"]
        lines += ["## Sentence pairs: MRPC paraphrases, the embedded MiniLM", "",
                  *data_lines(task),
                  f"Training: {task['epochs']} epochs, lr 5e-5, batch 32, max length 128, the two sentences as a "
                  "tokenizer pair; 10% of the training file held out (stratified, seed 42) to choose the epoch by F1; "
                  "scored on Microsoft's test file (1,725 pairs).", "",
                  "| test accuracy | test F1 (paraphrase) | MCC |", "|---:|---:|---:|",
                  f"| {with_interval(test, 'test_accuracy')} | {with_interval(test, 'test_f1')} | "
                  f"{test['test_mcc']:.4f} |", "",
                  "Published: " + "; ".join(f"{name}: {metric} {value * 100:.1f}" for name, metric, value in
                                             REFERENCES["mrpc"]) + ".", "",
                  f"Command: `{entry['command']}` ({minutes(entry)})", ""]
    if "stsb" in tasks:
        task = tasks["stsb"]
        entry = task["runs"]["regression"]
        test = entry["test"]
        lines += ["## Regression over sentence pairs: STS benchmark, the embedded MiniLM", "",
                  *data_lines(task),
                  f"Training: {task['epochs']} epochs, lr 5e-5, batch 32, max length 128, `--do_regression` (one "
                  "output, MSE loss), the two sentences as a tokenizer pair; best epoch by dev Pearson; scored on the "
                  "test file (1,379 pairs).", "",
                  "| test Pearson | test Spearman | RMSE | MAE |", "|---:|---:|---:|---:|",
                  f"| {with_interval(test, 'test_pearson')} | {with_interval(test, 'test_spearman')} | "
                  f"{test['test_rmse']:.3f} | {test['test_mae']:.3f} |", "",
                  "Published (x 100): " + "; ".join(f"{name}: {metric} {value * 100:.1f}" for name, metric, value in
                                                     REFERENCES["stsb"]) + ".", "",
                  f"Command: `{entry['command']}` ({minutes(entry)})", ""]
    if "hotel" in tasks:
        task = tasks["hotel"]
        lines += ["## Long texts: truncated or read as windows (ChnSentiCorp hotel reviews), the embedded MiniLM", "",
                  *data_lines(task),
                  f"Line(s) {task['empty_review_lines']} of the file hold an empty review, which run_classify.py "
                  "refuses (naming the line): the bench reads a copy without them.", "",
                  f"Training: {task['epochs']} epochs, lr 1e-4 with the characters MiniLM lacks added "
                  "(`--add_unk_chars`, their embeddings at 2e-3, as results/msra.md), batch 32, max length 128 "
                  "tokens, a seeded (42) "
                  "stratified 80/10/10 split of the file (the same for both), best epoch by validation accuracy. "
                  "*truncate* cuts every review after 128 tokens; *windows* (`--long_text_strategy windows`, "
                  "stride a quarter of the length) trains on every window of a long review with its label and "
                  "predicts a review by the mean of its windows' logits.", "",
                  "| strategy | test accuracy | test F1 | long reviews (> 128 tokens) | the others | whole command "
                  "(min) |", "|---|---:|---:|---:|---:|---:|"]
        for strategy, entry in task["runs"].items():
            test = entry["test"]
            lines.append(f"| {strategy} | {with_interval(test, 'test_accuracy')} | {cell(test['test_f1'])} | "
                         f"{cell(entry['long_accuracy'])} (of {entry['long_test_reviews']}) | "
                         f"{cell(entry['short_accuracy'])} (of {entry['test_reviews'] - entry['long_test_reviews']}) "
                         f"| {entry['wall_s'] / 60:.1f} |" if entry.get("wall_s") else f"| {strategy} | ... |")
        pair = next(p for p in task["comparison"]["metrics"]["accuracy"]["pairs"])
        lines += ["", f"Paired comparison (`python -m bertft_utils.compare`, same test reviews): {pair['first']} - "
                  f"{pair['second']} = {pair['difference'] * 100:+.2f} accuracy points (95% CI "
                  f"{pair['ci_low'] * 100:+.2f} to {pair['ci_high'] * 100:+.2f}, p = {pair['p']:.3g}, McNemar p = "
                  f"{pair['mcnemar']['p']:.3g}): {pair['verdict']}."]
        runs = task["runs"]
        if runs["truncate"].get("wall_s") and runs["windows"].get("wall_s"):
            ratio = runs["windows"]["wall_s"] / runs["truncate"]["wall_s"]
            lines.append(f"The windows run's whole command took {ratio:.1f}x the truncated one's (one run each).")
        lines.append("")
        lines += [f"Command ({name}): `{entry['command']}`" for name, entry in task["runs"].items()]
        lines.append("")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--goemotions", type=Path, help="folder with GoEmotions' train.tsv, dev.tsv, test.tsv, "
                        "labels.txt")
    parser.add_argument("--epochs", type=int, default=3, help="GoEmotions training epochs")
    parser.add_argument("--goemotions-lr", nargs="+", default=["5e-5"], help="GoEmotions learning rates, one run "
                        "each")
    parser.add_argument("--mrpc", type=Path, help="folder with msr_paraphrase_train.txt and msr_paraphrase_test.txt")
    parser.add_argument("--mrpc-source", default="", help="OWNER/REPO@COMMIT the MRPC files were taken from")
    parser.add_argument("--mrpc-epochs", type=int, default=4, help="MRPC training epochs")
    parser.add_argument("--sts", type=Path, help="folder with the STS benchmark's sts-train/dev/test.csv")
    parser.add_argument("--sts-source", default="", help="OWNER/REPO@COMMIT the STS files were taken from")
    parser.add_argument("--sts-epochs", type=int, default=4, help="STS benchmark training epochs")
    parser.add_argument("--hotel-reviews", type=Path, help="folder with ChnSentiCorp_htl_all.csv (label,review)")
    parser.add_argument("--hotel-source", default="", help="OWNER/REPO@COMMIT the hotel reviews were taken from")
    parser.add_argument("--hotel-epochs", type=int, default=3, help="hotel-review training epochs")
    parser.add_argument("--report", action="store_true", help="Rewrite the .md from the committed JSON only.")
    args = parser.parse_args()
    args.previous = REPO / "results" / "task_types.json"  # tasks not rerun keep their measured entry
    write_results("task_types", report, None if args.report else lambda: measure(args))


if __name__ == "__main__":
    main()
