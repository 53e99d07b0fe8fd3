#!/usr/bin/env python
"""Training throughput of run_classify.py: our defaults vs padding every example to 128 tokens.

Same model (embedded MiniLM), same 2,000 headlines, same machine, one epoch each, run one after another.

    .venv/bin/python bench/classify_speed.py        # writes results/classify_speed.{md,json}
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

from common import REPO, facts_markdown, machine_facts, read_json, run
from transformers import AutoTokenizer

from bertft_utils.modeling import embedded_model_path

SAMPLES = 2000
DATA = REPO / "data" / "sarcasm_headlines_sample.jsonl"
COMMON = ["--train_file", str(DATA), "--text_column_name", "headline", "--label_column_name", "is_sarcastic",
          "--validation_split_percentage", "0", "--test_split_percentage", "0", "--max_train_samples", str(SAMPLES),
          "--do_train", "--num_train_epochs", "1", "--per_device_train_batch_size", "32", "--save_strategy", "no",
          "--logging_strategy", "no", "--disable_tqdm", "true", "--seed", "42"]
CONFIGS = {
    "pad to 128, fp32 (HF example defaults)": ["--pad_to_max_length", "--max_seq_length", "128",
                                               "--train_sampling_strategy", "random", "--no_auto_bf16"],
    "pad to 128, bf16": ["--pad_to_max_length", "--max_seq_length", "128", "--train_sampling_strategy", "random",
                         "--bf16"],
    "dynamic padding, random batches, bf16 (HF example best flags)": ["--train_sampling_strategy", "random", "--bf16"],
    "bertft, fp32 (--no_auto_bf16)": ["--no_auto_bf16"],
    "bertft defaults (bf16 chosen automatically on this CPU)": [],
}


def real_tokens() -> int:
    """Non-padding tokens in one epoch over the training examples (the split that run_classify makes)."""
    import json as _json

    rows = [_json.loads(line)["headline"] for line in DATA.read_text(encoding="utf-8").splitlines() if line.strip()]
    tokenizer = AutoTokenizer.from_pretrained(embedded_model_path())
    return sum(len(ids) for ids in tokenizer(rows[:SAMPLES], truncation=True, max_length=128)["input_ids"])


def main() -> None:
    tokens = real_tokens()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, flags in CONFIGS.items():
            out = Path(tmp) / f"run{len(rows)}"
            run("run_classify.py", [*COMMON, *flags, "--output_dir", str(out)], Path(tmp) / f"log{len(rows)}.txt")
            result = read_json(out / "train_results.json")
            rows.append({"config": name, "flags": " ".join(flags) or "(none)",
                         "samples_per_second": result["train_samples_per_second"],
                         "train_runtime_s": result["train_runtime"],
                         "real_tokens_per_second": tokens / result["train_runtime"]})
            print(rows[-1], flush=True)
    baseline = rows[0]["samples_per_second"]
    for row in rows:
        row["speedup_vs_pad128_fp32"] = row["samples_per_second"] / baseline
    payload = {"facts": machine_facts(), "command": "python bench/classify_speed.py", "tokens": tokens,
               "rows": rows}
    (REPO / "results" / "classify_speed.json").write_text(json.dumps(payload, indent=2))
    render(payload)


def render(payload: dict) -> None:
    """results/classify_speed.md from the JSON alone."""
    rows, tokens = payload["rows"], payload.get("tokens")
    if tokens is None:  # older JSON: recover the token count from any row
        tokens = round(rows[0]["real_tokens_per_second"] * rows[0]["train_runtime_s"])
    lines = ["# run_classify.py training throughput", "",
             f"MiniLM-L6 (embedded), {SAMPLES} sarcasm headlines from `data/`, 1 epoch, batch 32, "
             f"{tokens} non-padding tokens per epoch. Configurations run one after another in one process tree.", "",
             facts_markdown(payload["facts"], payload.get("command", "python bench/classify_speed.py")),
             "| configuration | flags | samples/s | non-padding tokens/s | train time (s) | vs pad-128 fp32 |",
             "|---|---|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(f"| {r['config']} | `{r['flags']}` | {r['samples_per_second']:.1f} | "
                     f"{r['real_tokens_per_second']:.0f} | {r['train_runtime_s']:.1f} | "
                     f"{r['speedup_vs_pad128_fp32']:.1f}x |")
    hf_default, hf_best, ours_fp32, ours = (rows[0], rows[2], rows[3], rows[4])
    lines += ["", f"Reading: the Hugging Face example's defaults (pad to 128, fp32) train at "
              f"{hf_default['samples_per_second']:.1f} samples/s; bertft's defaults (length-grouped dynamic padding, "
              f"bf16 where the CPU has native bf16) at {ours['samples_per_second']:.1f}: "
              f"**{ours['speedup_vs_pad128_fp32']:.1f}x**, and "
              f"{ours['samples_per_second'] / hf_best['samples_per_second']:.2f}x the example's best flags (dynamic "
              f"padding + bf16, {hf_best['samples_per_second']:.1f}). In fp32, bertft's batching alone gives "
              f"{ours_fp32['speedup_vs_pad128_fp32']:.1f}x. One run of each."]
    (REPO / "results" / "classify_speed.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    sys.path.insert(0, str(REPO))
    if "--report" in sys.argv:  # rewrite the .md from the committed JSON only
        render(read_json(REPO / "results" / "classify_speed.json"))
    else:
        main()
