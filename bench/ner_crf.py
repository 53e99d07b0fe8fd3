#!/usr/bin/env python
"""argmax, constrained Viterbi and a CRF layer, each trained and scored by the same recipe on MSRA.

Two trainings with the same data, recipe, epochs and seed (the embedded MiniLM + added characters): a plain token
classifier, decoded with `--decoding argmax` and `--decoding viterbi`, and one with `--decoding crf` (the CRF trained
with the encoder). Validation: lemonhu's 3,000 MSRA sentences; test: the full test.txt. Per decoding: validation and
test micro F1, illegal transitions in the test predictions, model and decoding time on the test file. The precision of
training is measured by run_ner.py (bf16 where it is faster); scoring runs in fp32. The models stay in
`outputs/bench_crf/{plain,crf}`.

    .venv/bin/python bench/ner_crf.py                                   # full data, the msra_quality.py recipe
    .venv/bin/python bench/ner_crf.py --max-train-samples 8000 --epochs 1   # a reduced run (say so when quoting)
    .venv/bin/python bench/ner_crf.py --report                          # the .md from the committed JSON only
"""

from __future__ import annotations

import argparse
from pathlib import Path

from common import (
    REPO,
    chosen_precision,
    earlier_runs,
    facts_markdown,
    machine_facts,
    peak_rss_gib,
    read_json,
    run,
    write_results,
)
from msra_quality import BATCH, COMMON, RECIPE

OUT = REPO / "outputs" / "bench_crf"


def train(out: Path, decoding: str, args) -> dict:
    """One training; its precision is measured by run_ner.py (the same choice for both trainings on one machine)."""
    limit = ["--max_train_samples", str(args.max_train_samples)] if args.max_train_samples else []
    log = out.with_suffix(".train.log")
    wall = run("run_ner.py", [*COMMON, *BATCH, *RECIPE, *limit, "--num_train_epochs", str(args.epochs),
                              "--decoding", decoding, "--save_strategy", "no", "--eval_strategy", "no", "--do_train",
                              "--output_dir", str(out)], log)
    return {"train_wall_s": wall, "precision": chosen_precision(log), **read_json(out / "train_results.json")}


def score(model: Path, decoding: str, out: Path) -> dict:
    run("run_ner.py", [*COMMON, "--model_name_or_path", str(model), "--decoding", decoding, "--no_auto_bf16",
                       "--do_eval", "--do_predict", "--output_dir", str(out)], out.with_suffix(".log"))
    validation, test = read_json(out / "eval_results.json"), read_json(out / "test_results.json")
    return {"validation_f1": validation["eval_f1"], "test_f1": test["test_f1"],
            "test_illegal": test["test_illegal_predicted_transitions"],
            "test_sentences_with_illegal": test["test_sentences_with_illegal_predictions"],
            "predict_s": test["test_runtime"], "decode_s": test["test_decode_runtime"]}


def measure(args) -> dict:
    earlier = earlier_runs("ner_crf")
    facts = machine_facts()
    rows, training = {}, {}
    # the models stay in outputs/bench_crf, for other benches to measure (a rerun starts afresh: run() empties them)
    training["token classifier"] = train(OUT / "plain", "viterbi", args)
    training["CRF"] = train(OUT / "crf", "crf", args)
    print(training, flush=True)
    for decoding, model in (("argmax", "plain"), ("viterbi", "plain"), ("crf", "crf")):
        rows[decoding] = score(OUT / model, decoding, OUT / f"score_{decoding}")
        print(decoding, rows[decoding], flush=True)
    command = "python bench/ner_crf.py" + (f" --max-train-samples {args.max_train_samples}"
                                           if args.max_train_samples else "") + f" --epochs {args.epochs}"
    return {"facts": facts, "command": command, "max_train_samples": args.max_train_samples, "epochs": args.epochs,
            "training": training, "rows": rows, "peak_rss_gib": peak_rss_gib(), "earlier": earlier}


def report_run(data: dict) -> list[str]:
    size = (f"{data['max_train_samples']:,} seeded training sentences" if data["max_train_samples"]
            else "the full training split (train.txt minus the 3,000 validation sentences)")
    precisions = {row.get("precision") or "fp32" for row in data["training"].values()}  # first run: fp32 forced
    lines = [facts_markdown(data["facts"], data["command"]),
             f"Two trainings, same recipe (`bench/msra_quality.py`'s: lr 1e-4, embeddings 2e-3, batch 32, "
             f"{'/'.join(sorted(precisions))}), {size}, {data['epochs']:g} epoch(s), seed 42: a token classifier "
             "(decoded by argmax and by Viterbi) and one with a CRF layer (`--decoding crf`, CRF lr 100x). "
             "Validation: lemonhu's 3,000 sentences; test: the full test file; scored in fp32.", "",
             "| decoding | model | validation micro F1 | test micro F1 | illegal transitions in test predictions "
             "(sentences) | test: model (s) | test: decoding (s) |", "|---|---|---:|---:|---:|---:|---:|"]
    for decoding, row in data["rows"].items():
        model = "CRF" if decoding == "crf" else "token classifier"
        lines.append(f"| {decoding} | {model} | {row['validation_f1']:.4f} | {row['test_f1']:.4f} | "
                     f"{row['test_illegal']} ({row['test_sentences_with_illegal']}) | {row['predict_s']:.1f} | "
                     f"{row['decode_s']:.2f} |")
    lines += ["", "| training | train time (s) | final training loss |", "|---|---:|---:|"]
    for name, row in data["training"].items():
        lines.append(f"| {name} | {row['train_runtime']:.0f} | {row['train_loss']:.4f} |")
    return lines


def report(data: dict) -> str:
    lines = ["# NER decoding on MSRA: argmax, constrained Viterbi and a trained CRF", "",
             "Generated by `bench/ner_crf.py` from `results/ner_crf.json`; do not edit.", "", "## This run", "",
             *report_run(data)]
    for earlier in reversed(data.get("earlier", [])):
        lines += ["", f"## Earlier run: {earlier['facts']['date_utc']} ({earlier['command']})", "",
                  *report_run(earlier)]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--max-train-samples", type=int, default=None)
    parser.add_argument("--epochs", type=float, default=3)
    parser.add_argument("--report", action="store_true", help="Rewrite the .md from the committed JSON only.")
    args = parser.parse_args()
    write_results("ner_crf", report, None if args.report else lambda: measure(args))


if __name__ == "__main__":
    main()
