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

import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
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
from ner_speed import TEST, sentences

TARGET_SPEEDUP = 5.0
TARGET_PHASE_SPEEDUP = 8.0
TARGET_EQUAL = 0.999
ROUNDS = 3
# run_ner.py configurations measured in rounds: key -> flags (precision: fp32 unless the flags measure it)
CONFIGS = {"torch_fp32": [], "torch_defaults": ["--auto_bf16", "true"],
           "onnx_int8_recheck": ["--inference_backend", "onnxruntime", "--onnx_quantization", "dynamic_int8"]}
# The phases of a default run, as a profile of one names them: label -> (file, function) pairs whose cumulative
# seconds add up (the outermost of nested ones only).
PHASES = {"reading the test file": [("bertft_utils/tasks/flow.py", "load_splits")],
          "tokenizing into windows": [("bertft_utils/tasks/ner.py", "encode")],
          "loading tokenizer and model": [("bertft_utils/modeling/loading.py", "load_tokenizer"),
                                          ("bertft_utils/modeling/loading.py", "load_model")],
          "choosing the precision (cached per machine)": [("bertft_utils/runtime/precision.py", "choose_precision")],
          "building the Trainer": [("bertft_utils/publishing/hub.py", "__init__")],
          "the model over the windows (prediction phase)": [("bertft_utils/tasks/flow.py", "predict_split")],
          "decoding windows into tags": [("bertft_utils/tasks/ner.py", "decode")],
          "scoring, writing predictions and reports": [("bertft_utils/tasks/ner.py", "write_outputs")],
          "report.html": [("bertft_utils/evaluation/html_report.py", "write_run_report")],
          "learning-curve plot": [("bertft_utils/evaluation/plots.py", "plot_learning_curve")]}


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


def pipeline_command(model_dir: str) -> dict:
    """The pipeline as a user runs it: a fresh process that imports transformers, loads the model and loops over the
    sentences (bench/ner_speed.py's pipeline_run); the whole command's wall time and its loop's."""
    code = ("import json, sys; sys.path.insert(0, 'bench'); from ner_speed import pipeline_run; "
            "print(json.dumps(pipeline_run(sys.argv[1])))")
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", code, model_dir], cwd=REPO, capture_output=True, text=True,
                          check=True, env={**os.environ, "HF_HUB_OFFLINE": "1"})
    wall = time.perf_counter() - started
    inner = json.loads(done.stdout.strip().splitlines()[-1])
    return {"wall_s": round(wall, 2), "predict_s": round(inner["predict_s"], 2),
            "characters_without_prediction": inner["characters_without_prediction"]}


def profile_default_run(model_dir: str, out: Path) -> dict:
    """One default run under cProfile: seconds per phase (PHASES) and before main() (imports), as the profiler
    counts them (it slows Python code more than the model's matrix products)."""
    import pstats

    profile = out.parent / "default.prof"
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "cProfile", "-o", str(profile), str(REPO / "run_ner.py"),
                    "--model_name_or_path", model_dir, "--test_file", str(TEST), "--do_predict", "--disable_tqdm",
                    "true", "--output_dir", str(out)], cwd=REPO, check=True, capture_output=True,
                   env={**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"})
    wall = time.perf_counter() - started
    stats = pstats.Stats(str(profile)).stats
    total = max(cum for (_, _, _, cum, _) in stats.values())

    def cumulative(file: str, function: str) -> float:
        return max((cum for (path, _, name), (_, _, _, cum, _) in stats.items()
                    if name == function and path.endswith(file)), default=0.0)

    main_s = cumulative("run_ner.py", "main")
    phases = {label: round(sum(cumulative(*pair) for pair in pairs), 2) for label, pairs in PHASES.items()}
    phases["other (arguments, configuration, card, lazy imports)"] = round(main_s - sum(phases.values()), 2)
    return {"wall_s": round(wall, 2), "profiled_s": round(total, 2), "before_main_s": round(total - main_s, 2),
            "phases_s": phases}


def rounds(model_dir: str, tmp: Path) -> dict:
    """Every configuration and the pipeline, ROUNDS times, interleaved (the order rotates each round); whole command
    and prediction phase of each run, tags of the first round."""
    keys = ["pipeline", *CONFIGS]
    measured: dict[str, list[dict]] = {key: [] for key in keys}
    for index in range(ROUNDS):
        for key in keys[index % len(keys):] + keys[:index % len(keys)]:
            if key == "pipeline":
                row = pipeline_command(model_dir)
            else:
                row = predict(model_dir, tmp / f"{key}_{index}", CONFIGS[key], f"{key}_{index}.log")
            measured[key].append(row)
            print(f"round {index + 1} {key}: whole {row['wall_s']:.1f} s, phase {row['predict_s']:.1f} s", flush=True)
    return measured


def spread(values: list[float]) -> dict:
    return {"median": round(statistics.median(values), 2), "min": round(min(values), 2), "max": round(max(values), 2),
            "values": [round(v, 2) for v in values]}


def measure_rounds(model_dir: str) -> dict:
    earlier = earlier_runs("ner_onnx")
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        measured = rounds(model_dir, tmp)
        profile = profile_default_run(model_dir, tmp / "profiled")
    reference = measured["torch_fp32"][0]["tags"]
    rows = {}
    for key, runs in measured.items():
        row = {"wall_s": spread([r["wall_s"] for r in runs]), "predict_s": spread([r["predict_s"] for r in runs])}
        first = runs[0]
        if key == "pipeline":
            row["characters_without_prediction"] = first["characters_without_prediction"]
        else:
            row.update(test_f1=first["test_f1"], precision_chosen=first["precision_chosen"],
                       tags_equal_to_torch_fp32=sum(a == b for a, b in zip(reference, first["tags"], strict=False)),
                       tags_predicted=len(first["tags"]))
            if "rechecked_in_fp32" in first:
                row.update(rechecked_in_fp32=first["rechecked_in_fp32"], windows=first["windows"])
        rows[key] = row
    trained = Path(model_dir) / "train_results.json"
    return {"layout": "rounds", "rounds": ROUNDS, "model": os.path.relpath(model_dir, REPO),
            "characters": sum(len(s) for s in sentences()), "tags_reference": len(reference),
            "model_training": read_json(trained) if trained.exists() else None, "rows": rows, "profile": profile,
            "earlier": earlier}


def predicted_tags(out: Path) -> list[str]:
    """The predicted-tag column of predictions.txt (one line per character of the test file)."""
    lines = (out / "predictions.txt").read_text(encoding="utf-8").split("\n")
    return [line.split("\t")[-1] for line in lines if line.strip()]


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


ROUND_ROWS = {"pipeline": "`pipeline(\"token-classification\")`, defaults, one sentence at a time (a script: "
                            "import, load, loop)",
              "torch_fp32": "`run_ner.py --do_predict` (PyTorch fp32)",
              "torch_defaults": "`run_ner.py --do_predict`, defaults (precision measured: {precision})",
              "onnx_int8_recheck": "`... --inference_backend onnxruntime --onnx_quantization dynamic_int8` (exports "
                                   "and quantizes in each run; {rechecked})"}


def interval(entry: dict) -> str:
    return f"{entry['median']:.1f} ({entry['min']:.1f}–{entry['max']:.1f})"


def report_rounds(data: dict) -> list[str]:
    rows, pipe = data["rows"], data["rows"]["pipeline"]
    lines = [facts_markdown(data["facts"], data["command"]),
             f"Model: `{data['model']}`{trained_note(data.get('model_training'))}. Test file: the full MSRA `test.txt` "
             f"({data['characters']:,} characters). Each row run {data['rounds']} times, the rows interleaved (the "
             "order rotates each round); seconds as median (min–max); ratios of medians.", "",
             "| | whole command (s) | x pipeline | prediction phase (s) | x pipeline | tags equal to PyTorch fp32 | "
             "test micro F1 |", "|---|---:|---:|---:|---:|---:|---:|"]
    for key, row in rows.items():
        rechecked = (f"{row['rechecked_in_fp32']:,} of {row['windows']:,} windows rechecked in fp32"
                     if "rechecked_in_fp32" in row else "")
        label = ROUND_ROWS[key].format(precision=row.get("precision_chosen"), rechecked=rechecked)
        equal = ("(reference)" if key == "torch_fp32" else "" if key == "pipeline"
                 else f"{100 * row['tags_equal_to_torch_fp32'] / data['tags_reference']:.3f}%")
        lines.append(f"| {label} | {interval(row['wall_s'])} | "
                     f"{pipe['wall_s']['median'] / row['wall_s']['median']:.1f}x | {interval(row['predict_s'])} | "
                     f"{pipe['predict_s']['median'] / row['predict_s']['median']:.1f}x | {equal} | "
                     f"{row['test_f1']:.4f} |" if key != "pipeline" else
                     f"| {label} | {interval(row['wall_s'])} | 1.0x | {interval(row['predict_s'])} | 1.0x | | |")
    default = rows["torch_defaults"]
    whole = pipe["wall_s"]["median"] / default["wall_s"]["median"]
    phase = pipe["predict_s"]["median"] / default["predict_s"]["median"]
    share = default["tags_equal_to_torch_fp32"] / data["tags_reference"]
    lines += ["", "Whole command: process start to exit (imports, reading, tokenizing, loading, prediction, decoding, "
              "scoring, writing predictions.txt, the reports and report.html). Prediction phase: run_ner.py's "
              "`test_runtime` (the model over the windows) and the pipeline's loop over the sentences. The pipeline "
              f"leaves {pipe['characters_without_prediction']:,} characters without a tag.", "",
              f"- Defaults, whole command: {whole:.1f}x the pipeline's (goal >= {TARGET_SPEEDUP:.0f}x: "
              f"{'met' if whole >= TARGET_SPEEDUP else 'NOT met'}); prediction phase: {phase:.1f}x (goal >= "
              f"{TARGET_PHASE_SPEEDUP:.0f}x: {'met' if phase >= TARGET_PHASE_SPEEDUP else 'NOT met'}); tags "
              f"{100 * share:.3f}% equal to PyTorch fp32's (goal >= {100 * TARGET_EQUAL:.1f}%: "
              f"{'met' if share >= TARGET_EQUAL else 'NOT met'}).", ""]
    profile = data["profile"]
    lines += [f"Where a default run's time goes: one more default run under cProfile ({profile['wall_s']:.1f} s with "
              f"the profiler, which slows Python code far more than the model's matrix products, so the Python "
              "phases are overstated):", "", "| phase | seconds (profiled) |", "|---|---:|",
              f"| start-up: Python, imports (torch, transformers, datasets, ...), argument parsing | "
              f"{profile['before_main_s']:.1f} |"]
    lines += [f"| {label} | {seconds:.1f} |" for label, seconds in profile["phases_s"].items()]
    return lines


def report(data: dict) -> str:
    lines = ["# MSRA test prediction: pipeline, PyTorch and ONNX Runtime", "",
             "Generated by `bench/ner_onnx.py` from `results/ner_onnx.json`; do not edit. All rows of a run measured "
             "on the machine named.", "", "## This run", "",
             *(report_rounds(data) if data.get("layout") == "rounds" else report_run(data))]
    for earlier in reversed(data.get("earlier", [])):
        lines += ["", f"## Earlier run: {earlier['facts']['cpu']}, {earlier['facts']['date_utc']}", "",
                  *(report_rounds(earlier) if earlier.get("layout") == "rounds" else report_run(earlier))]
    return "\n".join(lines) + "\n"


def main() -> None:
    args = model_bench_arguments(__doc__.split("\n\n")[0])
    measured = None if args.report else lambda: {
        "facts": machine_facts(), "command": f"python bench/ner_onnx.py {os.path.relpath(args.model_dir, REPO)}",
        **measure_rounds(args.model_dir)}
    write_results("ner_onnx", report, measured)


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).parent))
    main()
