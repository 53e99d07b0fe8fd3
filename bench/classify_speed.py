#!/usr/bin/env python
"""Training throughput of run_classify.py against the Hugging Face example's behaviour, fp32 and bf16, on this
machine, beside its measured matmul peak.

Same model (embedded MiniLM), same 2,000 headlines, one epoch each, run one after another; the machine's fp32 and bf16
matmul peaks are measured in the same run. Ratios are taken against the *faster* precision of each HF-example
emulation, so that a machine where bf16 is slow (or fast) does not flatter us. Earlier runs stay in the JSON and the
.md, labelled with their machine.

    .venv/bin/python bench/classify_speed.py            # writes results/classify_speed.{md,json}
    .venv/bin/python bench/classify_speed.py --report   # the .md from the committed JSON only
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from common import (
    REPO,
    chosen_precision,
    earlier_runs,
    facts_markdown,
    machine_facts,
    matmul_peaks,
    read_json,
    reference_peak,
    run,
    slower_for_sure,
    training_flops,
    write_results,
)
from transformers import AutoTokenizer

from bertft_utils.data.splits import sample_indices
from bertft_utils.modeling.loading import embedded_model_path

SAMPLES = 2000
DATA = REPO / "data" / "sarcasm_headlines_sample.jsonl"
COMMON = ["--train_file", str(DATA), "--text_column_name", "headline", "--label_column_name", "is_sarcastic",
          "--validation_split_percentage", "0", "--test_split_percentage", "0", "--max_train_samples", str(SAMPLES),
          "--do_train", "--num_train_epochs", "1", "--per_device_train_batch_size", "32", "--save_strategy", "no",
          "--logging_strategy", "no", "--disable_tqdm", "true", "--seed", "42"]
# The HF example has none of bertft's own speed-ups: random batches, and glibc's malloc as it is.
PAD_128 = ["--pad_to_max_length", "--max_seq_length", "128", "--train_sampling_strategy", "random",
           "--keep_freed_memory", "false"]
RANDOM = ["--train_sampling_strategy", "random", "--keep_freed_memory", "false"]
# (key, description, flags); the keys are what the report compares.
CONFIGS = [
    ("hf_defaults_fp32", "HF example defaults: pad to 128, random batches, fp32", [*PAD_128, "--no_auto_bf16"]),
    ("hf_defaults_bf16", "HF example defaults + `--bf16`", [*PAD_128, "--bf16"]),
    ("hf_best_fp32", "HF example best flags: dynamic padding, random batches, fp32", [*RANDOM, "--no_auto_bf16"]),
    ("hf_best_bf16", "HF example best flags + `--bf16`", [*RANDOM, "--bf16"]),
    ("bertft_fp32", "bertft, fp32 forced", ["--no_auto_bf16"]),
    ("bertft_bf16", "bertft, bf16 forced", ["--bf16"]),
    ("bertft_defaults", "bertft defaults (precision measured at start)", []),
]


def real_lengths() -> list[int]:
    """Non-padding token count of each training example: the seeded, label-stratified subset that run_classify.py's
    --max_train_samples takes (split seed 42, its default)."""
    import json

    records = [json.loads(line) for line in DATA.read_text(encoding="utf-8").splitlines() if line.strip()]
    chosen = sample_indices(len(records), SAMPLES, 42, [r["is_sarcastic"] for r in records])
    tokenizer = AutoTokenizer.from_pretrained(embedded_model_path())
    texts = [records[i]["headline"] for i in chosen]
    return [len(ids) for ids in tokenizer(texts, truncation=True, max_length=128)["input_ids"]]



def measure() -> dict:
    earlier = earlier_runs("classify_speed")
    facts = machine_facts()
    facts["matmul_peaks"] = matmul_peaks()
    print(facts_markdown(facts, "python bench/classify_speed.py"), flush=True)
    lengths = real_lengths()
    flops = training_flops(embedded_model_path(), lengths)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for key, name, flags in CONFIGS:
            out, log = Path(tmp) / key, Path(tmp) / f"{key}.log"
            fp32 = next((r for r in rows if r["key"] == key.replace("_bf16", "_fp32")), None)
            bound = slower_for_sure(flops, facts["matmul_peaks"], fp32["train_runtime_s"]) if (
                key.endswith("_bf16") and fp32) else None
            if bound:
                rows.append({"key": key, "config": name, "flags": " ".join(flags), "not_run": True,
                             "lower_bound_s": bound, "fp32_runtime_s": fp32["train_runtime_s"]})
                print(rows[-1], flush=True)
                continue
            run("run_classify.py", [*COMMON, *flags, "--output_dir", str(out)], log)
            result = read_json(out / "train_results.json")
            rows.append({"key": key, "config": name, "flags": " ".join(flags) or "(none)",
                         "samples_per_second": result["train_samples_per_second"],
                         "train_runtime_s": result["train_runtime"],
                         "real_tokens_per_second": sum(lengths) / result["train_runtime"],
                         "gflops": flops / result["train_runtime"] / 1e9,
                         "precision_chosen": chosen_precision(log) if not flags else None})
            print(rows[-1], flush=True)
    facts["matmul_peaks_after"] = matmul_peaks()
    return {"facts": facts, "command": "python bench/classify_speed.py", "tokens": sum(lengths),
            "flops_per_epoch": flops, "rows": rows, "earlier": earlier}


def current_table(payload: dict) -> list[str]:
    rows = {row["key"]: row for row in payload["rows"]}
    fast, peak = reference_peak(payload["facts"])

    def best(*keys: str) -> dict:
        return max((rows[k] for k in keys if not rows[k].get("not_run")), key=lambda row: row["samples_per_second"])

    hf_defaults, hf_best = best("hf_defaults_fp32", "hf_defaults_bf16"), best("hf_best_fp32", "hf_best_bf16")
    ours, ours_best = rows["bertft_defaults"], best("bertft_fp32", "bertft_bf16")
    lines = ["| configuration | flags | samples/s | non-padding tokens/s | GFLOP/s (useful) | of the matmul peak | "
             "vs faster HF defaults | vs faster HF best flags |", "|---|---|---:|---:|---:|---:|---:|---:|"]
    for r in payload["rows"]:
        if r.get("not_run"):
            lines.append(f"| {r['config']} | `{r['flags']}` | not run: at least {r['lower_bound_s']:.0f} s at the "
                         f"measured bf16 matmul peak, vs {r['fp32_runtime_s']:.0f} s measured in fp32 | | | | | |")
            continue
        lines.append(f"| {r['config']} | `{r['flags']}` | {r['samples_per_second']:.1f} | "
                     f"{r['real_tokens_per_second']:.0f} | {r['gflops']:.1f} | {r['gflops'] / peak:.0%} | "
                     f"{r['samples_per_second'] / hf_defaults['samples_per_second']:.2f}x | "
                     f"{r['samples_per_second'] / hf_best['samples_per_second']:.2f}x |")
    lines += [
        "", f"Matmul peak used for the fraction: {fast}, {peak:.1f} GFLOP/s (the faster precision, the higher of "
        "the measurements before and after). Useful "
        f"GFLOP/s: {payload['flops_per_epoch'] / 1e12:.2f} TFLOP of matmul work per epoch on the real tokens "
        "(6 x encoder weights per token + attention products; padding not counted) / train time. A bf16 row is not "
        "run when that work alone, at the bf16 matmul speed measured here, takes longer than the same configuration "
        "took in fp32: it cannot be the faster variant.", "",
        f"Reading: bertft's defaults chose **{ours['precision_chosen']}** and train at "
        f"{ours['samples_per_second']:.1f} samples/s: "
        f"**{ours['samples_per_second'] / hf_defaults['samples_per_second']:.1f}x** "
        f"the faster HF-defaults emulation ({hf_defaults['config']}, {hf_defaults['samples_per_second']:.1f}) and "
        f"**{ours['samples_per_second'] / hf_best['samples_per_second']:.2f}x** the faster best-flags emulation "
        f"({hf_best['config']}, {hf_best['samples_per_second']:.1f}); "
        f"{ours['samples_per_second'] / ours_best['samples_per_second']:.0%} of bertft's faster forced precision "
        f"({ours_best['config']}, {ours_best['samples_per_second']:.1f}). Useful work: "
        f"{ours['gflops'] / peak:.0%} of the {fast} matmul peak. One run of each."]
    return lines


def earlier_table(run: dict) -> list[str]:
    """A run of 2026-11-28's layout as it was measured (its own configurations, ratios against its own first row)."""
    base = run["rows"][0]["samples_per_second"]
    lines = ["| configuration | flags | samples/s | non-padding tokens/s | train time (s) | vs first row |",
             "|---|---|---:|---:|---:|---:|"]
    for r in run["rows"]:
        lines.append(f"| {r['config']} | `{r['flags']}` | {r['samples_per_second']:.1f} | "
                     f"{r['real_tokens_per_second']:.0f} | {r['train_runtime_s']:.1f} | "
                     f"{r['samples_per_second'] / base:.1f}x |")
    return lines


EARLIER_NOTES = {  # what the machine was, where the facts recorded at the time say too little
    "373ec7b": "a Zen 4 AMD EPYC with native bf16 (bf16 matmuls about 2.6x fp32); bf16 was then chosen from the CPU "
               "flags, not measured",
}


def report(payload: dict) -> str:
    lines = ["# run_classify.py training throughput", "",
             f"MiniLM-L6 (embedded), {SAMPLES} sarcasm headlines from `data/`, 1 epoch, batch 32, "
             f"{payload['tokens']} non-padding tokens per epoch. Configurations run one after another in one process "
             "tree; the HF example (`run_classification.py`) is emulated with run_classify.py flags (same padding and "
             "batching).", "", "## This run", "",
             facts_markdown(payload["facts"], payload["command"]), *current_table(payload)]
    for run_ in reversed(payload.get("earlier", [])):
        facts = run_["facts"]
        note = EARLIER_NOTES.get(facts["git_commit"], "")
        lines += ["", f"## Earlier run: {facts['cpu']}, {facts['date_utc']} (commit {facts['git_commit']})", "",
                  *([f"Machine: {note}.", ""] if note else []),
                  facts_markdown(facts, run_.get("command", "python bench/classify_speed.py")),
                  *(current_table(run_) if "flops_per_epoch" in run_ else earlier_table(run_))]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.path.insert(0, str(REPO))
    write_results("classify_speed", report, None if "--report" in sys.argv else measure)
