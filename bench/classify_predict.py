#!/usr/bin/env python
"""Sentence classification of 10,000 headlines, whole command against `pipeline("text-classification")`: a fresh
process each (imports, loading, reading, tokenizing, predicting, writing), `run_classify.py --do_predict` with its
defaults and in PyTorch fp32, the pipeline as a user runs it (import, load, one headline at a time); 3 rounds
interleaved (the order rotated), medians and ranges, ratios of medians; labels compared with fp32's.

    .venv/bin/python bench/classify_predict.py MODEL_DIR   # a run_classify.py model; results/classify_predict.*
    .venv/bin/python bench/classify_predict.py --report    # rewrite the .md from the committed JSON only
"""

from __future__ import annotations

import csv
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import (
    REPO,
    SHARED_DATA,
    chosen_precision,
    earlier_runs,
    facts_markdown,
    machine_facts,
    model_bench_arguments,
    read_json,
    run,
    with_earlier_runs,
    write_results,
)

HEADLINES = 10_000
ROUNDS = 3
TARGET_SPEEDUP = 5.0
SARCASM = SHARED_DATA / "sarcasm" / "Sarcasm_Headlines_Dataset_v2.json"
CONFIGS = {"torch_fp32": ["--no_auto_bf16"], "defaults": []}


def test_file(folder: Path) -> Path:
    """The first HEADLINES records of Sarcasm v2 as JSON lines (headline, is_sarcastic)."""
    path = folder / "headlines.jsonl"
    with open(SARCASM, encoding="utf-8") as source, open(path, "w", encoding="utf-8") as target:
        for count, line in enumerate(source):
            if count == HEADLINES:
                break
            record = json.loads(line)
            target.write(json.dumps({"headline": record["headline"], "is_sarcastic": record["is_sarcastic"]}) + "\n")
    return path


def pipeline_script(model_dir: str, data: Path) -> dict:
    """The pipeline as a user runs it, in a fresh process: whole command and its loop; the labels it gave."""
    code = ("import json, sys, time\n"
            "start = time.perf_counter()\n"
            "from transformers import pipeline\n"
            "texts = [json.loads(line)['headline'] for line in open(sys.argv[2], encoding='utf-8')]\n"
            "classify = pipeline('text-classification', model=sys.argv[1], device='cpu')\n"
            "loaded = time.perf_counter()\n"
            "labels = [classify(text)[0]['label'] for text in texts]\n"
            "print(json.dumps({'predict_s': time.perf_counter() - loaded, 'labels': labels}))\n")
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", code, model_dir, str(data)], cwd=REPO, capture_output=True,
                          text=True, check=True, env={**os.environ, "HF_HUB_OFFLINE": "1",
                                                      "TOKENIZERS_PARALLELISM": "false"})
    wall = time.perf_counter() - started
    inner = json.loads(done.stdout.strip().splitlines()[-1])
    return {"wall_s": round(wall, 2), "predict_s": round(inner["predict_s"], 2), "labels": inner["labels"]}


def classify_run(model_dir: str, data: Path, out: Path, flags: list[str]) -> dict:
    log = out.with_suffix(".log")
    wall = run("run_classify.py", ["--model_name_or_path", model_dir, "--test_file", str(data), "--text_column_name",
                                   "headline", "--label_column_name", "is_sarcastic", "--do_predict",
                                   "--disable_tqdm", "true", "--output_dir", str(out), *flags], log)
    result = read_json(out / "test_results.json")
    with open(out / "predictions.tsv", encoding="utf-8", newline="") as handle:
        labels = [row["predicted"] for row in csv.DictReader(handle, delimiter="\t")]
    return {"wall_s": round(wall, 2), "predict_s": round(result["test_runtime"], 2),
            "precision_chosen": chosen_precision(log) or "fp32", "accuracy": result.get("test_accuracy"),
            "labels": labels}


def spread(values: list[float]) -> dict:
    return {"median": round(statistics.median(values), 2), "min": round(min(values), 2), "max": round(max(values), 2),
            "values": [round(v, 2) for v in values]}


def measure(model_dir: str) -> dict:
    earlier = earlier_runs("classify_predict")
    keys = ["pipeline", *CONFIGS]
    measured: dict[str, list[dict]] = {key: [] for key in keys}
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        data = test_file(tmp)
        for index in range(ROUNDS):
            for key in keys[index % len(keys):] + keys[:index % len(keys)]:
                row = pipeline_script(model_dir, data) if key == "pipeline" else \
                    classify_run(model_dir, data, tmp / f"{key}_{index}", CONFIGS[key])
                measured[key].append(row)
                print(f"round {index + 1} {key}: whole {row['wall_s']:.1f} s, phase {row['predict_s']:.1f} s",
                      flush=True)
    reference = measured["torch_fp32"][0]["labels"]
    rows = {}
    for key, runs in measured.items():
        first = runs[0]
        rows[key] = {"wall_s": spread([r["wall_s"] for r in runs]), "predict_s": spread([r["predict_s"] for r in runs]),
                     "labels_equal_to_torch_fp32": sum(a == b for a, b in zip(reference, first["labels"],
                                                                              strict=True)),
                     **{k: first[k] for k in ("precision_chosen", "accuracy") if k in first}}
    trained = Path(model_dir) / "train_results.json"
    return {"facts": machine_facts(), "command": "python bench/classify_predict.py MODEL_DIR",
            "model": os.path.relpath(model_dir, REPO), "headlines": HEADLINES, "rounds": ROUNDS,
            "model_training": read_json(trained) if trained.exists() else None, "rows": rows, "earlier": earlier}


LABELS = {"pipeline": "`pipeline(\"text-classification\")`, defaults (one headline at a time)",
          "torch_fp32": "`run_classify.py --do_predict --no_auto_bf16` (PyTorch fp32)",
          "defaults": "`run_classify.py --do_predict` (defaults: precision measured, {precision})"}


def report_run(data: dict) -> list[str]:
    rows = data["rows"]
    lines = [facts_markdown(data["facts"], data["command"]),
             f"Model: `{data['model']}` (a run_classify.py sarcasm classifier). Test file: the first "
             f"{data['headlines']:,} headlines of Sarcasm v2 as JSON lines. Each configuration is a fresh process, "
             f"{data['rounds']} rounds interleaved; medians (range). Whole command: process start to exit. Phase: "
             "the pipeline's loop, run_classify.py's `test_runtime`.", "",
             "| configuration | whole command (s) | prediction phase (s) | whole vs pipeline | phase vs pipeline | "
             "labels equal to fp32 |", "|---|---:|---:|---:|---:|---:|"]
    base = rows["pipeline"]
    for key, row in rows.items():
        label = LABELS[key].format(precision=row.get("precision_chosen"))
        lines.append(f"| {label} | {row['wall_s']['median']:.1f} ({row['wall_s']['min']:.1f}-"
                     f"{row['wall_s']['max']:.1f}) | {row['predict_s']['median']:.1f} ({row['predict_s']['min']:.1f}-"
                     f"{row['predict_s']['max']:.1f}) | {base['wall_s']['median'] / row['wall_s']['median']:.1f}x | "
                     f"{base['predict_s']['median'] / row['predict_s']['median']:.1f}x | "
                     f"{row['labels_equal_to_torch_fp32'] / data['headlines']:.2%} |")
    ratio = base["wall_s"]["median"] / rows["defaults"]["wall_s"]["median"]
    lines += ["", f"Defaults, whole command: **{ratio:.1f}x** the pipeline's (goal {TARGET_SPEEDUP:.0f}x: "
              f"{'met' if ratio >= TARGET_SPEEDUP else 'NOT met'})."]
    return lines


def report(data: dict) -> str:
    return with_earlier_runs(["# Sentence classification: whole command against the pipeline", "",
                              "Generated by `bench/classify_predict.py` from `results/classify_predict.json`; do not "
                              "edit."], data, report_run)


def main() -> None:
    args = model_bench_arguments(__doc__.split("\n\n")[0])
    write_results("classify_predict", report, None if args.report else
                  lambda: measure(str(Path(args.model_dir).resolve())))


if __name__ == "__main__":
    main()
