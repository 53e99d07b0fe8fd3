#!/usr/bin/env python
"""NER speed: (a) prediction on the full MSRA test file, run_ner.py --do_predict vs transformers.pipeline with its
defaults, same model; (b) training throughput on 2,000 MSRA sentences, bertft defaults vs the Hugging Face example's
behaviour (random batches padded to their longest sentence, truncation at 512 tokens), fp32 and bf16 each, beside the
machine's matmul peak measured in the same run. Earlier runs stay in the JSON and the .md, labelled with their machine.

    .venv/bin/python bench/ner_speed.py MODEL_DIR   # MODEL_DIR: an MSRA model, e.g. outputs/msra_quick
    .venv/bin/python bench/ner_speed.py --report    # the .md from the committed JSON only
"""

from __future__ import annotations

import os
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
    inference_flops,
    machine_facts,
    matmul_peaks,
    read_json,
    reference_peak,
    run,
    slower_for_sure,
    training_flops,
    write_results,
)

TEST = SHARED_DATA / "msra_ner" / "test.txt"
TRAIN = SHARED_DATA / "msra_ner" / "train.txt"
SAMPLES = 2000


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


def bertft_predict(model_dir: str, tmp: Path, key: str, flags: list[str]) -> dict:
    out, log = tmp / f"predict_{key}", tmp / f"predict_{key}.log"
    wall = run("run_ner.py", ["--model_name_or_path", model_dir, "--test_file", str(TEST), "--do_predict",
                              "--output_dir", str(out), "--disable_tqdm", "true", *flags], log)
    lines = [line for line in (out / "predictions.txt").read_text(encoding="utf-8").split("\n") if line]
    missing = sum(1 for line in lines if len(line.split("\t")) != 3 or not line.split("\t")[2])
    total = sum(len(s) for s in sentences())
    result = read_json(out / "test_results.json")
    return {"flags": " ".join(flags), "wall_s": wall, "predict_s": result["test_runtime"],
            "sentences_per_second": result["test_sentences_per_second"],
            "characters_without_prediction": missing + (total - len(lines)),
            "precision_chosen": None if flags else chosen_precision(log)}



def train_lengths(max_seq_length: int) -> list[int]:
    """Real token counts of the training sentences as run_ner.py windows them (characters + [CLS]/[SEP] per window;
    a sentence longer than a window is cut into windows that overlap by a quarter); the sentences are the seeded
    subset that --max_train_samples takes (split seed 42, its default)."""
    from bertft_utils.data.splits import sample_indices

    blocks = [b for b in TRAIN.read_text(encoding="utf-8").split("\n\n") if b.strip()]
    blocks = [blocks[i] for i in sample_indices(len(blocks), SAMPLES, 42)]
    lengths = []
    for block in blocks:
        n = sum(1 for line in block.split("\n") if line.strip())
        room, stride = max_seq_length - 2, max_seq_length // 4
        while n > room:
            lengths.append(max_seq_length)
            n -= room - stride
        lengths.append(n + 2)
    return lengths


def training_run(key: str, flags: list[str], tmp: Path) -> dict:
    out, log = tmp / key, tmp / f"{key}.log"
    run("run_ner.py", ["--train_file", str(TRAIN), "--validation_split_percentage", "0", "--test_split_percentage",
                       "0", "--max_train_samples", str(SAMPLES), "--add_unk_chars", "--do_train",
                       "--per_device_train_batch_size", "32", "--num_train_epochs", "1", "--save_strategy", "no",
                       "--logging_strategy", "no", "--disable_tqdm", "true", "--output_dir", str(out), *flags], log)
    result = read_json(out / "train_results.json")
    return {"flags": " ".join(flags), "train_runtime_s": result["train_runtime"],
            "sentences_per_second": SAMPLES / result["train_runtime"],
            "precision_chosen": None if "--bf16" in flags or "--no_auto_bf16" in flags else chosen_precision(log)}


HF_LIKE = ["--train_sampling_strategy", "random", "--max_seq_length", "512", "--keep_freed_memory", "false"]
TRAIN_CONFIGS = [  # (key, description, flags)
    ("hf_like_fp32", "HF example behaviour: random batches padded to the longest, up to 512 tokens, fp32",
     [*HF_LIKE, "--no_auto_bf16"]),
    ("hf_like_bf16", "HF example behaviour + `--bf16`", [*HF_LIKE, "--bf16"]),
    ("bertft_fp32", "bertft: length-grouped batches, windows of 128, fp32 forced", ["--no_auto_bf16"]),
    ("bertft_bf16", "bertft, bf16 forced", ["--bf16"]),
    ("bertft_defaults", "bertft defaults (precision measured at start)", []),
]
PREDICT_CONFIGS = [
    ("bertft_defaults", "`run_ner.py --do_predict` defaults (precision measured; batches of 32 sorted by length)", []),
    ("bertft_fp32", "`run_ner.py --do_predict --no_auto_bf16` (fp32)", ["--no_auto_bf16"]),
    ("bertft_bf16", "`run_ner.py --do_predict --bf16`", ["--bf16"]),
]


def measure(model_dir: str) -> dict:
    earlier = earlier_runs("ner_speed")
    facts = machine_facts()
    facts["matmul_peaks"] = matmul_peaks()
    print(facts_markdown(facts, ""), flush=True)
    predict, train = {}, {}
    # The windowed-token count differs between 128 and 512 windows; the useful work is the same sentences: count it
    # once, on 512-token windows (almost no overlap).
    flops = training_flops(model_dir, train_lengths(512))
    predict_flops = inference_flops(model_dir, [len(s) + 2 for s in sentences()])
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        for key, _, flags in PREDICT_CONFIGS:
            bound = slower_for_sure(predict_flops, facts["matmul_peaks"], predict["bertft_fp32"]["predict_s"]) if (
                key.endswith("_bf16")) else None
            predict[key] = ({"flags": " ".join(flags), "not_run": True, "lower_bound_s": bound} if bound
                            else bertft_predict(model_dir, tmp, key, flags))
            print(key, predict[key], flush=True)
        predict["pipeline"] = pipeline_run(model_dir)
        print("pipeline", predict["pipeline"], flush=True)
        for key, _, flags in TRAIN_CONFIGS:
            fp32 = train.get(key.replace("_bf16", "_fp32"))
            bound = slower_for_sure(flops, facts["matmul_peaks"], fp32["train_runtime_s"]) if (
                key.endswith("_bf16") and fp32) else None
            train[key] = ({"flags": " ".join(flags), "not_run": True, "lower_bound_s": bound} if bound
                          else training_run(key, flags, tmp))
            print(key, train[key], flush=True)
    facts["matmul_peaks_after"] = matmul_peaks()
    return {"facts": facts, "command": f"python bench/ner_speed.py {os.path.relpath(model_dir, REPO)}",
            "model": os.path.relpath(model_dir, REPO), "flops_per_epoch": flops, "predict": predict, "train": train,
            "earlier": earlier}


def report(payload: dict) -> str:
    """results/ner_speed.md from the JSON alone."""
    lines = ["# NER speed on MSRA", "", "## This run", "", *run_report(payload)]
    for run_ in reversed(payload.get("earlier", [])):
        facts = run_["facts"]
        lines += ["", *(earlier_report(run_) if "bertft" in run_["predict"] else  # the first runs' layout
                        [f"## Earlier run: {facts['cpu']}, {facts['date_utc']} (commit {facts['git_commit']})", "",
                         *run_report(run_)])]
    return "\n".join(lines) + "\n"


def run_report(payload: dict) -> list[str]:
    """One run in the current layout: prediction and training tables beside the matmul peak."""
    predict, train = payload["predict"], payload["train"]
    fast, peak = reference_peak(payload["facts"])
    pipe = predict["pipeline"]["sentences_per_second"]
    lines = [facts_markdown(payload["facts"], payload["command"]),
             f"Model: `{payload['model']}` (embedded MiniLM + added characters, fine-tuned on MSRA; prediction speed "
             "does not depend on how long it was trained).", "",
             "### (a) Prediction on the full MSRA test file (3,442 sentences, 172,601 characters)", "",
             "| | prediction (s) | sentences/s | whole run (s) | characters without a prediction | vs pipeline |",
             "|---|---:|---:|---:|---:|---:|"]
    names = {key: name for key, name, _ in PREDICT_CONFIGS}
    names["pipeline"] = '`pipeline("token-classification")` defaults (one sentence at a time, fp32)'
    for key, row in predict.items():
        if row.get("not_run"):
            lines.append(f"| {names[key]} | not run: at least {row['lower_bound_s']:.0f} s at the measured bf16 matmul "
                         "peak, more than fp32 took | | | | |")
            continue
        chosen = f" - chose {row['precision_chosen']}" if row.get("precision_chosen") else ""
        lines.append(f"| {names[key]}{chosen} | {row['predict_s']:.1f} | {row['sentences_per_second']:.1f} | "
                     f"{row['wall_s']:.1f} | {row['characters_without_prediction']} | "
                     f"{row['sentences_per_second'] / pipe:.1f}x |")
    lines += ["", "Prediction time: run_ner.py's `trainer.predict` phase (the Trainer's `test_runtime`) and the "
              "pipeline's loop over the sentences. Whole run: run_ner.py as a process (Python start, reading, "
              "tokenizing, model load, writing the files) and the pipeline's construction plus its loop.", "",
              f"### (b) Training throughput, {SAMPLES:,} MSRA training sentences, 1 epoch, batch 32", "",
              "| configuration | flags | train time (s) | sentences/s | useful GFLOP/s | of the matmul peak | "
              "vs faster HF emulation |", "|---|---|---:|---:|---:|---:|---:|"]
    hf = max((train[k] for k in ("hf_like_fp32", "hf_like_bf16") if not train[k].get("not_run")),
             key=lambda row: row["sentences_per_second"])
    names = {key: name for key, name, _ in TRAIN_CONFIGS}
    for key, row in train.items():
        if row.get("not_run"):
            lines.append(f"| {names[key]} | `{row['flags']}` | not run: at least {row['lower_bound_s']:.0f} s at the "
                         "measured bf16 matmul peak, more than fp32 took | | | | |")
            continue
        gflops = payload["flops_per_epoch"] / row["train_runtime_s"] / 1e9
        chosen = f" - chose {row['precision_chosen']}" if row.get("precision_chosen") else ""
        lines.append(f"| {names[key]}{chosen} | `{row['flags'] or '(none)'}` | {row['train_runtime_s']:.1f} | "
                     f"{row['sentences_per_second']:.1f} | {gflops:.1f} | "
                     f"{gflops / peak:.0%} | "
                     f"{row['sentences_per_second'] / hf['sentences_per_second']:.2f}x |")
    lines += ["", "The HF-example rows are emulated with run_ner.py flags (random sampling, 512-token windows: the "
              "same padding behaviour; the example itself truncates at 512 instead of windowing). Useful GFLOP/s: "
              "matmul work on the real characters (6 x encoder weights per token + attention products, padding and "
              f"window overlap not counted) / train time; the peak is the faster precision's ({fast}, "
              f"{peak:.1f} GFLOP/s, the higher of the measurements before and after the runs). A bf16 row is not run "
              "when its matmul work alone, at the bf16 matmul speed measured here, takes longer than the same "
              "configuration took in fp32: it cannot be the faster variant."]
    return lines


def earlier_report(run_: dict) -> list[str]:
    """An earlier run as it was measured, labelled with its machine."""
    facts = run_["facts"]
    ours, ours_fp32, theirs = (run_["predict"][k] for k in ("bertft", "bertft_fp32", "pipeline"))
    hf_like, defaults = run_["train"]["hf_example_like"], run_["train"]["bertft_defaults"]
    note = EARLIER_NOTES.get(facts["git_commit"], "")
    return [f"## Earlier run: {facts['cpu']}, {facts['date_utc']} (commit {facts['git_commit']})", "",
            *([f"Machine: {note}.", ""] if note else []), facts_markdown(facts, run_["command"]),
            f"Model: `{run_['model']}`.", "", "| prediction | prediction (s) | sentences/s | characters without a "
            "prediction |", "|---|---:|---:|---:|",
            f"| run_ner.py defaults (bf16 chosen from the CPU flags) | {ours['predict_s']:.1f} | "
            f"{ours['sentences_per_second']:.1f} | {ours['characters_without_prediction']} |",
            f"| run_ner.py fp32 | {ours_fp32['predict_s']:.1f} | {ours_fp32['sentences_per_second']:.1f} | "
            f"{ours_fp32['characters_without_prediction']} |",
            f"| pipeline defaults | {theirs['predict_s']:.1f} | {theirs['sentences_per_second']:.1f} | "
            f"{theirs['characters_without_prediction']} |", "",
            "| training, 2,000 sentences, bf16 | train time (s) | sentences/s |", "|---|---:|---:|",
            f"| HF example behaviour (`{hf_like['flags']}`) | {hf_like['train_runtime_s']:.1f} | "
            f"{hf_like['sentences_per_second']:.1f} |",
            f"| bertft defaults | {defaults['train_runtime_s']:.1f} | {defaults['sentences_per_second']:.1f} |"]


EARLIER_NOTES = {
    "186eff5": "a Zen 4 AMD EPYC with native bf16 (bf16 matmuls about 2.6x fp32); bf16 was then chosen from the CPU "
               "flags, not measured",
}


if __name__ == "__main__":
    sys.path.insert(0, str(REPO))
    if "--report" in sys.argv:
        write_results("ner_speed", report)
    else:
        write_results("ner_speed", report, lambda: measure(os.path.abspath(sys.argv[1])))
