#!/usr/bin/env python
"""NER speed: (a) prediction on the full MSRA test file, run_ner.py --do_predict vs transformers.pipeline with its
defaults, same model; (b) training throughput on 2,000 MSRA sentences, bertft defaults vs the Hugging Face example's
behaviour (random batches padded to their longest sentence, truncation at 512 tokens).

    .venv/bin/python bench/ner_speed.py MODEL_DIR [--predict-only]   # MODEL_DIR: e.g. outputs/bench_msra/full
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from pathlib import Path

from common import REPO, SHARED_DATA, facts_markdown, machine_facts, read_json, run

TEST = SHARED_DATA / "msra_ner" / "test.txt"
TRAIN = SHARED_DATA / "msra_ner" / "train.txt"


def sentences() -> list[str]:
    blocks = [b for b in TEST.read_text(encoding="utf-8").split("\n\n") if b.strip()]
    return ["".join(line.split("\t")[0] for line in block.split("\n") if line) for block in blocks]


def pipeline_run(model_dir: str) -> dict:
    """The pipeline with its defaults (one sentence at a time); ignore_labels=[] only makes it return O tags too,
    so that characters it left without any prediction can be counted."""
    import torch
    from transformers import pipeline

    texts = sentences()
    start = time.perf_counter()
    ner = pipeline("token-classification", model=model_dir, device="cpu", ignore_labels=[])
    loaded = time.perf_counter()
    missing = errors = 0
    for text in texts:
        try:
            tokens = ner(text)
        except Exception:  # a sentence the pipeline cannot handle at all loses every character
            errors += 1
            missing += len(text)
            continue
        covered = set()
        for token in tokens:
            covered.update(range(token["start"], token["end"]))
        missing += sum(1 for i, c in enumerate(text) if i not in covered and not c.isspace())
    end = time.perf_counter()
    return {"wall_s": end - start, "predict_s": end - loaded, "sentences_per_second": len(texts) / (end - loaded),
            "characters_without_prediction": missing, "sentences_failed": errors,
            "torch_threads": torch.get_num_threads()}


def bertft_predict(model_dir: str, tmp: Path, flags: list[str]) -> dict:
    out = tmp / f"predict{len(flags)}"
    wall = run("run_ner.py", ["--model_name_or_path", model_dir, "--test_file", str(TEST), "--do_predict",
                              "--output_dir", str(out), "--disable_tqdm", "true", *flags], tmp / "predict.log")
    lines = [line for line in (out / "predictions.txt").read_text(encoding="utf-8").split("\n") if line]
    missing = sum(1 for line in lines if len(line.split("\t")) != 3 or not line.split("\t")[2])
    total = sum(len(s) for s in sentences())
    result = read_json(out / "test_results.json")
    return {"wall_s": wall, "predict_s": result["test_runtime"],
            "sentences_per_second": result["test_sentences_per_second"],
            "characters_without_prediction": missing + (total - len(lines))}


def training_run(name: str, flags: list[str], tmp: Path) -> dict:
    out = tmp / name
    run("run_ner.py", ["--train_file", str(TRAIN), "--validation_split_percentage", "0", "--test_split_percentage",
                       "0", "--max_train_samples", "2000", "--add_unk_chars", "--bf16", "--do_train",
                       "--per_device_train_batch_size", "32", "--num_train_epochs", "1", "--save_strategy", "no",
                       "--logging_strategy", "no", "--disable_tqdm", "true", "--output_dir", str(out), *flags],
        tmp / f"{name}.log")
    result = read_json(out / "train_results.json")
    return {"flags": " ".join(flags), "train_runtime_s": result["train_runtime"],
            "sentences_per_second": 2000 / result["train_runtime"]}


def main(model_dir: str, predict_only: bool) -> None:
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        ours = bertft_predict(model_dir, tmp, [])
        print("bertft predict", ours, flush=True)
        ours_fp32 = bertft_predict(model_dir, tmp, ["--no_auto_bf16"])
        print("bertft predict fp32", ours_fp32, flush=True)
        theirs = pipeline_run(model_dir)
        print("pipeline", theirs, flush=True)
        if predict_only:  # keep the training rows of the last full run
            previous = read_json(REPO / "results" / "ner_speed.json")["train"]
            hf_like, defaults = previous["hf_example_like"], previous["bertft_defaults"]
        else:
            hf_like = training_run("hf_like", ["--train_sampling_strategy", "random", "--max_seq_length", "512"],
                                   tmp)
            print("hf-like training", hf_like, flush=True)
            defaults = training_run("bertft", [], tmp)
            print("bertft training", defaults, flush=True)
    command = f"python bench/ner_speed.py {os.path.relpath(model_dir, REPO)}" + (" --predict-only" if predict_only
                                                                                   else "")
    payload = {"facts": machine_facts(), "command": command, "model": os.path.relpath(model_dir, REPO),
               "predict": {"bertft": ours, "bertft_fp32": ours_fp32, "pipeline": theirs},
               "train": {"hf_example_like": hf_like, "bertft_defaults": defaults}}
    (REPO / "results" / "ner_speed.json").write_text(json.dumps(payload, indent=2))
    render(payload)


def render(payload: dict) -> None:
    """results/ner_speed.md from the JSON alone."""
    facts, model_dir = payload["facts"], payload["model"]  # relative to the repository
    command = payload.get("command", f"python bench/ner_speed.py {model_dir}")
    ours, ours_fp32, theirs = (payload["predict"][k] for k in ("bertft", "bertft_fp32", "pipeline"))
    hf_like, defaults = payload["train"]["hf_example_like"], payload["train"]["bertft_defaults"]
    lines = ["# NER speed on MSRA", "", facts_markdown(facts, command),
             f"Model: `{model_dir}` (embedded MiniLM + added characters, fine-tuned by "
             "`bench/msra_quality.py`). bf16 for training (both rows).", "",
             "## (a) Prediction on the full MSRA test file (3,442 sentences, 172,601 characters)", "",
             "| | prediction (s) | sentences/s | whole run (s) | characters without a prediction |",
             "|---|---:|---:|---:|---:|",
             f"| `run_ner.py --do_predict` (defaults: bf16 on this CPU, batches of 32 sorted by length) | "
             f"{ours['predict_s']:.1f} | {ours['sentences_per_second']:.1f} | {ours['wall_s']:.1f} | "
             f"{ours['characters_without_prediction']} |",
             f"| `run_ner.py --do_predict --no_auto_bf16` (fp32) | {ours_fp32['predict_s']:.1f} | "
             f"{ours_fp32['sentences_per_second']:.1f} | {ours_fp32['wall_s']:.1f} | "
             f"{ours_fp32['characters_without_prediction']} |",
             f"| `pipeline(\"token-classification\")` defaults (one sentence at a time, fp32) | "
             f"{theirs['predict_s']:.1f} | {theirs['sentences_per_second']:.1f} | {theirs['wall_s']:.1f} | "
             f"{theirs['characters_without_prediction']} |", "",
             "Prediction time: run_ner.py's `trainer.predict` phase (the Trainer's `test_runtime`) and the pipeline's "
             "loop over the sentences. Whole run: run_ner.py as a process (Python start, reading, tokenizing, "
             "model load, writing the files) and the pipeline's construction plus its loop.",
             "", f"Speed-up: {ours['sentences_per_second'] / theirs['sentences_per_second']:.1f}x with defaults, "
             f"{ours_fp32['sentences_per_second'] / theirs['sentences_per_second']:.1f}x both in fp32.", "",
             "## (b) Training throughput, 2,000 MSRA training sentences, 1 epoch, batch 32, bf16", "",
             "| configuration | flags | train time (s) | sentences/s |", "|---|---|---:|---:|",
             f"| HF example behaviour: random batches padded to the longest, up to 512 tokens | `{hf_like['flags']}` | "
             f"{hf_like['train_runtime_s']:.1f} | {hf_like['sentences_per_second']:.1f} |",
             f"| bertft defaults: length-grouped batches, windows of 128 | (none) | "
             f"{defaults['train_runtime_s']:.1f} | {defaults['sentences_per_second']:.1f} |", "",
             "The HF-example row is emulated with run_ner.py flags (random sampling, 512-token windows: the same "
             "padding behaviour; the example itself truncates at 512 instead of windowing).", "",
             f"Speed-up: {defaults['sentences_per_second'] / hf_like['sentences_per_second']:.1f}x."]
    (REPO / "results" / "ner_speed.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    sys.path.insert(0, str(REPO))
    if "--report" in sys.argv:  # rewrite the .md from the committed JSON only
        render(read_json(REPO / "results" / "ner_speed.json"))
    else:
        main(os.path.abspath(sys.argv[1]), "--predict-only" in sys.argv)
