#!/usr/bin/env python
"""MSRA test prediction, measured in one run on one machine: `transformers.pipeline` with its defaults,
`run_ner.py --do_predict` in PyTorch fp32 and with its defaults (precision measured), and `run_ner.py --do_predict
--inference_backend onnxruntime` in fp32 and with `--onnx_quantization dynamic_int8` (int8 only, and with its fp32
recheck of uncertain sentences at two margins); every run's tags compared with PyTorch fp32's character by
character. Earlier runs stay in the JSON and the .md, labelled with their machine.

    .venv/bin/python bench/ner_onnx.py MODEL_DIR       # a fine-tuned NER model folder; results/ner_onnx.{json,md}
    .venv/bin/python bench/ner_onnx.py --report        # rewrite the .md from the committed JSON only

The fp32 ONNX run is made twice: the first exports the model (its cost is shown), the second reuses the export; the
int8 run quantizes that export once (its wall time includes the quantization).
"""

from __future__ import annotations

import os
import re
import sys
import tempfile
from pathlib import Path

from common import (
    REPO,
    chosen_precision,
    earlier_runs,
    facts_markdown,
    machine_facts,
    model_bench_arguments,
    read_json,
    run,
    write_results,
)
from ner_speed import TEST, pipeline_run, sentences

TARGET_SPEEDUP = 5.0
TARGET_EQUAL = 0.999


def predict(model_dir: str, out: Path, flags: list[str], log_name: str | None = None) -> dict:
    """One run_ner.py --do_predict run (fp32 unless `flags` say otherwise: the default precision is measured only
    in the 'defaults' row)."""
    precision = [] if "--auto_bf16" in flags else ["--no_auto_bf16"]
    log = out.parent / (log_name or out.name + ".log")
    wall = run("run_ner.py", ["--model_name_or_path", model_dir, "--test_file", str(TEST), "--do_predict",
                              "--per_device_eval_batch_size", "32", *precision, "--disable_tqdm", "true",
                              "--output_dir", str(out), *flags], log)
    result = read_json(out / "test_results.json")
    rechecked = {}
    if "test_onnx_int8_rechecked_in_fp32" in result:
        found = re.search(r"int8: (\d+) of (\d+) examples", log.read_text(encoding="utf-8"))
        rechecked = {"rechecked_in_fp32": result["test_onnx_int8_rechecked_in_fp32"], "windows": int(found.group(2))}
    return {**rechecked, "wall_s": round(wall, 2), "predict_s": round(result["test_runtime"], 2),
            "sentences_per_second": round(result["test_sentences_per_second"], 2), "test_f1": result["test_f1"],
            "precision_chosen": chosen_precision(log) if "--auto_bf16" in flags else "fp32",
            "tags": predicted_tags(out)}


def predicted_tags(out: Path) -> list[str]:
    """The predicted-tag column of predictions.txt (one line per character of the test file)."""
    lines = (out / "predictions.txt").read_text(encoding="utf-8").split("\n")
    return [line.split("\t")[-1] for line in lines if line.strip()]


def measure(model_dir: str) -> dict:
    earlier = earlier_runs("ner_onnx")
    runs = {}
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        first_pipeline = pipeline_run(model_dir)  # first and last: this machine's speed drifts within a run
        print("pipeline (first)", first_pipeline, flush=True)
        runs["torch_fp32"] = predict(model_dir, tmp / "torch", [])
        runs["torch_defaults"] = predict(model_dir, tmp / "torch_defaults", ["--auto_bf16", "true"])
        runs["onnx_first"] = predict(model_dir, tmp / "onnx", ["--inference_backend", "onnxruntime"], "onnx_1.log")
        runs["onnx"] = predict(model_dir, tmp / "onnx", ["--inference_backend", "onnxruntime"], "onnx_2.log")
        int8 = ["--inference_backend", "onnxruntime", "--onnx_quantization", "dynamic_int8"]
        runs["onnx_int8"] = predict(model_dir, tmp / "onnx", [*int8, "--onnx_recheck_margin", "0"], "onnx_int8.log")
        runs["onnx_int8_recheck_0.2"] = predict(model_dir, tmp / "onnx", [*int8, "--onnx_recheck_margin", "0.2"],
                                                "onnx_int8_recheck_0.2.log")
        runs["onnx_int8_recheck"] = predict(model_dir, tmp / "onnx", int8, "onnx_int8_recheck.log")
        for name, row in runs.items():
            print(name, {k: v for k, v in row.items() if k != "tags"}, flush=True)
        last_pipeline = pipeline_run(model_dir)
        print("pipeline (last)", last_pipeline, flush=True)
        runs["pipeline"] = {**min(first_pipeline, last_pipeline, key=lambda row: row["predict_s"]),
                            "runs_predict_s": [round(first_pipeline["predict_s"], 2),
                                               round(last_pipeline["predict_s"], 2)]}
    characters = sum(len(s) for s in sentences())
    reference = runs["torch_fp32"].pop("tags")
    tags = {"torch": len(reference)}
    for name, row in runs.items():
        if name not in ("torch_fp32", "pipeline"):
            predicted = row.pop("tags")
            row["tags_predicted"] = len(predicted)
            row["tags_equal_to_torch_fp32"] = sum(a == b for a, b in zip(reference, predicted, strict=False))
    trained = Path(model_dir) / "train_results.json"
    return {"model": os.path.relpath(model_dir, REPO), "characters": characters,
            "model_training": read_json(trained) if trained.exists() else None, "runs": runs, "tags": tags,
            "earlier": earlier}


def trained_note(training: dict | None) -> str:
    if not training:
        return ""
    return (f" (trained for {training['epoch']:.2f} epochs of {training['train_samples']:,} sentences; its own "
            "test F1 is below)")


ROWS = (("pipeline", "`pipeline(\"token-classification\")`, defaults (one sentence at a time){pipeline_runs}"),
        ("torch_fp32", "`run_ner.py --do_predict` (PyTorch fp32)"),
        ("torch_defaults", "`run_ner.py --do_predict` (PyTorch, precision measured: {precision})"),
        ("onnx_first", "`run_ner.py --do_predict --inference_backend onnxruntime`, first run (exports the model)"),
        ("onnx", "`run_ner.py --do_predict --inference_backend onnxruntime`, export reused"),
        ("onnx_int8", "`... --inference_backend onnxruntime --onnx_quantization dynamic_int8{margin_0}` (int8 only; "
                      "quantizes the export)"),
        ("onnx_int8_recheck_0.2", "`... --onnx_quantization dynamic_int8 --onnx_recheck_margin 0.2` ({rechecked})"),
        ("onnx_int8_recheck", "`... --onnx_quantization dynamic_int8` (default recheck margin 0.3: {rechecked})"))


def equal_share(row: dict, data: dict) -> float | None:
    """The share of characters whose tag equals PyTorch fp32's (runs of 2026-11-29 stored it for ONNX only)."""
    if "tags_equal_to_torch_fp32" in row:
        return row["tags_equal_to_torch_fp32"] / data["tags"]["torch"]
    return None


def pipeline_runs(row: dict) -> str:
    """Runs since 2026-12-01 22:30 measure the pipeline first and last and compare with the faster."""
    if "runs_predict_s" not in row:
        return ""
    first, last = row["runs_predict_s"]
    return f"; the faster of the run's first and last: {first:.1f} s, {last:.1f} s"


def report_run(data: dict) -> list[str]:
    runs = data["runs"]
    if "tags_equal_to_torch_fp32" not in runs["onnx"]:  # the first run's layout: tag counts for fp32 ONNX only
        runs["onnx"]["tags_equal_to_torch_fp32"], runs["onnx"]["tags_predicted"] = (data["tags"]["equal"],
                                                                                    data["tags"]["onnx"])
    pipe = runs["pipeline"]["sentences_per_second"]
    lines = [facts_markdown(data["facts"], data["command"]),
             f"Model: `{data['model']}`{trained_note(data.get('model_training'))}. Test file: the full MSRA `test.txt` "
             f"({data['characters']:,} characters).", "",
             "| | prediction (s) | sentences/s | x pipeline | whole run (s) | tags equal to PyTorch fp32 | "
             "characters without a tag | test micro F1 |", "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for key, name in ROWS:
        if key not in runs:
            continue
        row = runs[key]
        share = equal_share(row, data)
        cell = "(reference)" if key == "torch_fp32" else "" if share is None else f"{100 * share:.3f}%"
        predicted = data["tags"]["torch"] if key == "torch_fp32" else row.get("tags_predicted")
        lost = (row["characters_without_prediction"] if key == "pipeline"
                else "" if predicted is None else data["characters"] - predicted)
        rechecked = (f"{row['rechecked_in_fp32']:,} of {row['windows']:,} windows rechecked in fp32"
                     if "rechecked_in_fp32" in row else "")
        label = name.format(precision=row.get("precision_chosen"), rechecked=rechecked,
                            pipeline_runs=pipeline_runs(row),
                            margin_0=" --onnx_recheck_margin 0" if "onnx_int8_recheck" in runs else "")
        lines.append(f"| {label} | {row['predict_s']:.1f} | "
                     f"{row['sentences_per_second']:.1f} | {row['sentences_per_second'] / pipe:.1f}x | "
                     f"{row['wall_s']:.1f} | {cell} | {lost} | "
                     f"{row['test_f1']:.4f} |" if "test_f1" in row else
                     f"| {label} | {row['predict_s']:.1f} | "
                     f"{row['sentences_per_second']:.1f} | 1.0x | "
                     f"{row['wall_s']:.1f} | | {lost} | |")
    lines += ["", "Prediction time: run_ner.py's prediction phase (`test_runtime`; for ONNX Runtime the session's "
              "batches, export and quantization excluded) and the pipeline's loop over the sentences. Whole run: the "
              "process from start to finish (reading, tokenizing, loading, exporting when it does, writing the "
              "files). Characters without a tag: for the pipeline, characters no returned token covers.", ""]
    kinds = {"onnx": " fp32", "onnx_int8": " dynamic int8 only", "onnx_int8_recheck_0.2": " int8, recheck margin 0.2",
             "onnx_int8_recheck": " int8, recheck margin 0.3 (default)"}
    for key, kind in kinds.items():
        if key not in runs:
            continue
        speedup, share = runs[key]["sentences_per_second"] / pipe, equal_share(runs[key], data)
        lines.append(f"- ONNX Runtime{kind}: {speedup:.1f}x the "
                     f"pipeline (target >= {TARGET_SPEEDUP:.0f}x: {'met' if speedup >= TARGET_SPEEDUP else 'NOT met'})"
                     f", tags {100 * share:.3f}% equal to PyTorch fp32's (target >= {100 * TARGET_EQUAL:.1f}%: "
                     f"{'met' if share >= TARGET_EQUAL else 'NOT met'}).")
    return lines


def report(data: dict) -> str:
    lines = ["# MSRA test prediction: pipeline, PyTorch and ONNX Runtime", "",
             "Generated by `bench/ner_onnx.py` from `results/ner_onnx.json`; do not edit. All rows of a run measured "
             "on the machine named, one after another.", "", "## This run", "", *report_run(data)]
    for earlier in reversed(data.get("earlier", [])):
        lines += ["", f"## Earlier run: {earlier['facts']['cpu']}, {earlier['facts']['date_utc']}", "",
                  *report_run(earlier)]
    return "\n".join(lines) + "\n"


def main() -> None:
    args = model_bench_arguments(__doc__.split("\n\n")[0])
    measured = None if args.report else lambda: {
        "facts": machine_facts(), "command": f"python bench/ner_onnx.py {os.path.relpath(args.model_dir, REPO)}",
        **measure(args.model_dir)}
    write_results("ner_onnx", report, measured)


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).parent))
    main()
