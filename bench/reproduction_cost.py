#!/usr/bin/env python
"""What one epoch of each reproduction run costs, estimated from full-size look-alikes (the real configs, random
weights): the real checkpoints cannot be downloaded here.

For each (task, model) of scripts/reproduce_*.sh: the task's real training inputs are measured in tokens (MSRA
sentences cut into the windows run_ner.py makes, headlines through the bert-base-uncased WordPiece vocabulary that
the embedded MiniLM shares, Taipei questions wrapped in the `department` template), grouped into length-sorted batches
of 32 as `group_by_length` does, and a few training steps (forward, backward, AdamW) of the full-size model on a
median batch are timed in the precision our defaults pick on this machine. Epoch estimate = padded tokens of one
epoch x measured seconds per token (evaluation passes not included).

The GPU column is not measured (no GPU in this session): it scales the embedded MiniLM's training throughput that
bench/gpu_run.sh measured on an H200 (results/msra_gpu.json, results/sarcasm_gpu.json) by how much slower than
MiniLM each model trains per token on this CPU (both timed here, side by side). A small model uses a big GPU poorly,
so this is an upper bound.

    .venv/bin/python bench/reproduction_cost.py            # measure (about 5 minutes on 2 cores), write results
    .venv/bin/python bench/reproduction_cost.py --report   # rewrite results/reproduction_cost.md from the JSON
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import time

from common import REPO, SHARED_DATA, facts_markdown, machine_facts, read_json, result_path

sys.path.insert(0, str(REPO))

BATCH = 32
MAX_LENGTH = 128
STRIDE = 32
TASKS = {  # task -> (models, labels, head)
    "ner": (["google-bert/bert-base-chinese", "voidful/albert_chinese_base", "hfl/chinese-roberta-wwm-ext"], 7,
            "token"),
    "classify": (["google-bert/bert-base-uncased", "albert/albert-base-v2", "FacebookAI/roberta-base"], 2,
                 "sequence"),
    "qa_label": (["google-bert/bert-base-chinese", "voidful/albert_chinese_tiny", "hfl/rbt3"], 149, "sequence"),
}
# task -> (GPU result file of the embedded MiniLM, the task whose inputs that run trained on)
GPU_REFERENCE = {"ner": ("msra_gpu.json", "ner"), "classify": ("sarcasm_gpu.json", "classify"),
                 "qa_label": ("sarcasm_gpu.json", "classify")}
REFERENCE = "embedded"  # all-MiniLM-L6-v2, whose H200 throughput was measured


def ner_lengths() -> list[int]:
    """Window lengths (tokens, with [CLS]/[SEP]) of the MSRA training sentences: one character = one token."""
    split = read_json(REPO / "results" / "msra_split_ids.json")
    sentences = (SHARED_DATA / "msra_ner" / "train.txt").read_text(encoding="utf-8").split("\n\n")
    lengths = [len([line for line in sentences[i].splitlines() if line.strip()]) for i in split["train"]]
    content = MAX_LENGTH - 2
    windows = []
    for length in lengths:
        if length <= content:
            windows.append(length + 2)
            continue
        count = 1 + math.ceil((length - content) / (content - STRIDE))
        windows += [MAX_LENGTH] * count
    return windows


def classify_lengths() -> list[int]:
    from transformers import AutoTokenizer

    from bertft_utils.data.splits import stratified_split
    from bertft_utils.modeling.loading import embedded_model_path

    rows = [json.loads(line) for line in (SHARED_DATA / "sarcasm" / "Sarcasm_Headlines_Dataset.json").read_text(
        encoding="utf-8").splitlines() if line.strip()]
    train = stratified_split([r["is_sarcastic"] for r in rows], 10, 10, 42)["train"]
    tokenizer = AutoTokenizer.from_pretrained(embedded_model_path())
    ids = tokenizer([rows[i]["headline"] for i in train], truncation=True, max_length=MAX_LENGTH)["input_ids"]
    return [len(x) for x in ids]


def qa_lengths() -> list[int]:
    from bertft_utils.data.prompts import PRESETS

    split = read_json(REPO / "results" / "taipei_qa_split_ids.json")
    lines = [line for line in (SHARED_DATA / "taipei_qa" / "Taipei_QA_new.txt").read_text(encoding="utf-8")
             .splitlines() if line.strip()]
    questions = [line.split(None, 1)[1].strip() for line in lines]
    return [min(MAX_LENGTH, len(PRESETS["department"].format(question=questions[i])) + 2) for i in split["train"]]


LENGTHS = {"ner": ner_lengths, "classify": classify_lengths, "qa_label": qa_lengths}


def padded_batches(lengths: list[int]) -> list[int]:
    """Padded length of each batch when examples are grouped by length."""
    ordered = sorted(lengths)
    return [max(ordered[i:i + BATCH]) for i in range(0, len(ordered), BATCH)]


def time_steps(name: str, labels: int, head: str, length: int, steps: int, bf16: bool) -> dict:
    import torch
    from transformers import AutoConfig, AutoModelForSequenceClassification, AutoModelForTokenClassification

    from bertft_utils.testing.lookalikes import CHECKPOINTS

    if name == REFERENCE:
        from bertft_utils.modeling.loading import embedded_model_path

        config = AutoConfig.from_pretrained(embedded_model_path(), num_labels=labels)
        model_type, vocab_size = "bert", config.vocab_size
    else:
        packaging = CHECKPOINTS[name]
        config = AutoConfig.for_model(packaging.model_type, num_labels=labels, **packaging.real_config)
        model_type, vocab_size = packaging.model_type, config.vocab_size
    model_class = AutoModelForTokenClassification if head == "token" else AutoModelForSequenceClassification
    torch.manual_seed(0)
    model = model_class.from_config(config)
    model.train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-5)
    low = 5 if model_type == "roberta" else 0
    input_ids = torch.randint(low, vocab_size, (BATCH, length))
    target = torch.randint(0, labels, (BATCH, length) if head == "token" else (BATCH,))
    timings = []
    for step in range(steps + 1):  # the first step warms up and is not counted
        start = time.perf_counter()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            loss = model(input_ids=input_ids, attention_mask=torch.ones_like(input_ids), labels=target).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        if step:
            timings.append(time.perf_counter() - start)
    embedding = model.get_input_embeddings().weight.numel()
    return {"step_seconds": timings, "parameters": model.num_parameters(),
            "non_embedding_parameters": model.num_parameters() - embedding}


def reference_prefers_bf16(time_precisions) -> bool:
    """Whether bf16 is faster than fp32 for one step of the reference model on this machine (as the scripts decide)."""
    import torch
    from transformers import AutoModelForSequenceClassification

    from bertft_utils.modeling.loading import embedded_model_path

    model = AutoModelForSequenceClassification.from_pretrained(embedded_model_path(), num_labels=2)
    batch = {"input_ids": torch.randint(100, 1000, (BATCH, 32)), "labels": torch.zeros(BATCH, dtype=torch.long),
             "attention_mask": torch.ones(BATCH, 32, dtype=torch.long)}
    timing = time_precisions(model, batch, training=True)
    return timing["bf16_s"] < timing["fp32_s"]


def measure(steps: int) -> dict:
    from bertft_utils.runtime.precision import time_precisions

    bf16 = reference_prefers_bf16(time_precisions)  # what run_*.py would measure as faster here
    rows = []
    lengths_by_task = {task: LENGTHS[task]() for task in TASKS}
    for task, (models, labels, head) in TASKS.items():
        lengths = lengths_by_task[task]
        batches = padded_batches(lengths)
        median = int(statistics.median(batches))
        gpu_file, gpu_task = GPU_REFERENCE[task]
        gpu = read_json(REPO / "results" / gpu_file)
        gpu_train = gpu["train"] if "train" in gpu else next(r for r in gpu["rows"] if r["config"] ==
                                                            gpu["selected"])["train"]
        reference_batches = padded_batches(lengths_by_task[gpu_task])
        # MiniLM's measured H200 throughput in padded tokens per second
        gpu_tokens_per_second = gpu_train["train_samples_per_second"] * BATCH * sum(reference_batches) / len(
            lengths_by_task[gpu_task])
        reference = statistics.median(time_steps(REFERENCE, labels, head, median, steps, bf16)["step_seconds"])
        for name in models:
            timing = time_steps(name, labels, head, median, steps, bf16)
            step = statistics.median(timing["step_seconds"])
            epoch_cpu = step / (BATCH * median) * BATCH * sum(batches)
            epoch_gpu = BATCH * sum(batches) / gpu_tokens_per_second * step / reference
            rows.append({"task": task, "model": name, "train_examples": len(lengths), "batches": len(batches),
                         "median_padded_length": median, "padded_tokens_per_epoch": BATCH * sum(batches),
                         **timing, "minilm_step_seconds": reference, "cpu_epoch_seconds": epoch_cpu,
                         "gpu_epoch_seconds_upper_bound": epoch_gpu,
                         "gpu_reference": {"file": gpu_file, "tokens_per_second": gpu_tokens_per_second,
                                           "minilm_train_samples_per_second": gpu_train["train_samples_per_second"],
                                           "gpu": gpu["facts"].get("gpu"), "date_utc": gpu["facts"]["date_utc"]}})
            print(f"{task} {name}: {epoch_cpu / 60:.1f} min/epoch on this CPU, <= {epoch_gpu / 60:.1f} on the GPU",
                  flush=True)
    return {"facts": machine_facts(), "bf16": bf16, "steps_timed": steps, "batch_size": BATCH, "rows": rows,
            "command": "bench/reproduction_cost.py"}


EPOCHS = {"ner": 3, "classify": 4, "qa_label": 30}  # the defaults of scripts/reproduce_*.sh


def hours(seconds: float) -> str:
    return f"{seconds / 3600:.1f} h" if seconds >= 3600 else f"{seconds / 60:.1f} min"


def report(data: dict) -> str:
    lines = ["# Reproduction cost per epoch (full-size look-alikes)", "",
             facts_markdown(data["facts"], data["command"]),
             f"Precision timed: {'bf16 autocast' if data['bf16'] else 'fp32'} (what the defaults pick on this CPU); "
             f"batch {data['batch_size']}, {data['steps_timed']} timed training steps per model after one warm-up, "
             "on a batch of the task's median padded length. CPU epoch = padded tokens per epoch x seconds per token; "
             "evaluation passes not included. GPU: an upper bound, the embedded MiniLM's measured H200 throughput "
             "(padded tokens per second) divided by how much slower than MiniLM the model's step is on this CPU "
             "(timed side by side; no GPU in the session that made this file).", "",
             "| task | model | parameters | train examples | median padded length | CPU s/step (MiniLM) | "
             "CPU per epoch | CPU, default epochs | GPU per epoch (upper bound) | GPU, default epochs |",
             "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for row in data["rows"]:
        epochs = EPOCHS[row["task"]]
        step = statistics.median(row["step_seconds"])
        lines.append(
            f"| {row['task']} | `{row['model']}` | {row['parameters'] / 1e6:.1f}M | {row['train_examples']:,} | "
            f"{row['median_padded_length']} | {step:.2f} ({row['minilm_step_seconds']:.2f}) | "
            f"{hours(row['cpu_epoch_seconds'])} | "
            f"{hours(row['cpu_epoch_seconds'] * epochs)} ({epochs}) | {hours(row['gpu_epoch_seconds_upper_bound'])} |"
            f" {hours(row['gpu_epoch_seconds_upper_bound'] * epochs)} ({epochs}) |")
    references = {(r["gpu_reference"]["file"], r["gpu_reference"]["minilm_train_samples_per_second"],
                   r["gpu_reference"]["tokens_per_second"], r["gpu_reference"]["gpu"], r["gpu_reference"]["date_utc"])
                  for r in data["rows"]}
    lines += ["", "GPU reference throughputs (embedded MiniLM, measured by bench/gpu_run.sh):", ""]
    lines += [f"- `results/{f}`: {s:.0f} training samples/s ({t:,.0f} padded tokens/s) on {g}, {d} UTC"
              for f, s, t, g, d in sorted(references)]
    total_cpu = sum(r["cpu_epoch_seconds"] * EPOCHS[r["task"]] for r in data["rows"])
    total_gpu = sum(r["gpu_epoch_seconds_upper_bound"] * EPOCHS[r["task"]] for r in data["rows"])
    lines += ["", f"Whole reproduction with the default epochs, one seed: about {hours(total_cpu)} on this CPU, "
              f"at most {hours(total_gpu)} on one such GPU (training only)."]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--report", action="store_true", help="Rewrite the .md from the committed JSON only.")
    parser.add_argument("--steps", type=int, default=3, help="Timed training steps per model.")
    args = parser.parse_args()
    json_path, md_path = result_path("reproduction_cost.json"), result_path("reproduction_cost.md")
    if not args.report:
        json_path.write_text(json.dumps(measure(args.steps), indent=2) + "\n", encoding="utf-8")
    md_path.write_text(report(read_json(json_path)), encoding="utf-8")
    print(f"wrote {md_path}")


if __name__ == "__main__":
    main()
