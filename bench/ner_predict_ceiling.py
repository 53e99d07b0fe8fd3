#!/usr/bin/env python
"""How fast can MiniLM tag the MSRA test file on this machine at all? The bare model forward, no Trainer.

Every test sentence (truncated to 128 tokens here: this measures the model, not our windowing), sorted by length,
batches of 64, torch.inference_mode: autocast bf16 (what run_ner.py uses), fp32, the model cast to bf16, and dynamic
int8 quantization, with how often each one's tag agrees with fp32. Compare with results/ner_speed.md.

    .venv/bin/python bench/ner_predict_ceiling.py MODEL_DIR     # a run_ner.py output folder
"""

from __future__ import annotations

import json
import os
import sys
import time

import torch
from common import REPO, SHARED_DATA, facts_markdown, machine_facts, read_json, result_path
from transformers import AutoModelForTokenClassification, AutoTokenizer

TEST = SHARED_DATA / "msra_ner" / "test.txt"
BATCH = 64


def encoded_windows(tokenizer) -> list[list[int]]:
    blocks = [b for b in TEST.read_text(encoding="utf-8").split("\n\n") if b.strip()]
    sentences = [[line.split("\t")[0] for line in b.split("\n") if line] for b in blocks]
    ids = tokenizer(sentences, is_split_into_words=True, truncation=True, max_length=128)["input_ids"]
    return sorted(ids, key=len, reverse=True)


def tag_all(model, windows: list[list[int]], autocast: bool) -> tuple[float, torch.Tensor]:
    predictions = []
    start = time.perf_counter()
    with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=autocast):
        for i in range(0, len(windows), BATCH):
            chunk = windows[i:i + BATCH]
            ids = torch.zeros(len(chunk), len(chunk[0]), dtype=torch.long)
            mask = torch.zeros_like(ids)
            for row, window in enumerate(chunk):
                ids[row, :len(window)] = torch.tensor(window)
                mask[row, :len(window)] = 1
            predictions.append(model(input_ids=ids, attention_mask=mask).logits.argmax(-1)[mask.bool()])
    return time.perf_counter() - start, torch.cat(predictions)


def main(model_dir: str) -> None:
    from torch.ao.quantization import quantize_dynamic

    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    windows = encoded_windows(tokenizer)

    def load():
        return AutoModelForTokenClassification.from_pretrained(model_dir).eval()

    rows = {}
    seconds, reference = tag_all(load(), windows, autocast=False)
    rows["fp32"] = (seconds, reference)
    rows["autocast bf16 (run_ner.py on this CPU)"] = tag_all(load(), windows, autocast=True)
    rows["model cast to bf16"] = tag_all(load().to(torch.bfloat16), windows, autocast=False)
    rows["dynamic int8 (Linear layers)"] = tag_all(quantize_dynamic(load(), {torch.nn.Linear}, dtype=torch.qint8),
                                                   windows, autocast=False)
    tokens = sum(map(len, windows))
    table = {name: {"seconds": s, "sentences_per_second": len(windows) / s, "tokens_per_second": tokens / s,
                    "agreement_with_fp32": (p == reference).float().mean().item()} for name, (s, p) in rows.items()}
    payload = {"facts": machine_facts(), "command": f"python bench/ner_predict_ceiling.py "
               f"{os.path.relpath(model_dir, REPO)}", "sentences": len(windows), "tokens": tokens, "rows": table}
    result_path("ner_predict_ceiling.json").write_text(json.dumps(payload, indent=2))
    render(payload)


def render(payload: dict) -> None:
    """results/ner_predict_ceiling.md from the JSON alone."""
    table = payload["rows"]
    first = next(iter(table.values()))
    sentences = payload.get("sentences") or round(first["sentences_per_second"] * first["seconds"])
    tokens = payload.get("tokens") or round(first["tokens_per_second"] * first["seconds"])
    lines = ["# NER prediction ceiling: the bare model forward on the MSRA test file", "",
             facts_markdown(payload["facts"], payload.get("command", "python bench/ner_predict_ceiling.py "
                                                          "outputs/bench_msra/full")),
             f"{sentences} sentences ({tokens} tokens, truncated to 128 for this measurement only), sorted by "
             f"length, batches of {BATCH}, `torch.inference_mode`, no Trainer, no stitching.", "",
             "| forward | seconds | sentences/s | tokens/s | tags equal to fp32 |", "|---|---:|---:|---:|---:|"]
    for name, r in table.items():
        lines.append(f"| {name} | {r['seconds']:.1f} | {r['sentences_per_second']:.1f} | "
                     f"{r['tokens_per_second']:.0f} | {100 * r['agreement_with_fp32']:.2f}% |")
    if payload.get("notes"):
        lines += ["", "## How this run was made", "", *[f"- {note}" for note in payload["notes"]]]
    (result_path("ner_predict_ceiling.md")).write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    sys.path.insert(0, str(REPO))
    if "--report" in sys.argv:  # rewrite the .md from the committed JSON only
        render(read_json(result_path("ner_predict_ceiling.json")))
    else:
        main(os.path.abspath(sys.argv[1]))
