#!/usr/bin/env python
"""run_ner.py with the embedded (English) MiniLM plus vocabulary extension on full MSRA NER.

Train on train.txt minus lemonhu's 3,000 validation sentences, select the epoch on those 3,000, score the full-length
test set once. Usage (about an hour on 2 cores):

    .venv/bin/python bench/msra_quality.py            # writes results/msra.md, results/msra.json
    .venv/bin/python bench/msra_quality.py --probe    # the short recipe comparison (4,000 sentences, 2 epochs)
    .venv/bin/python bench/msra_quality.py --epochs 10 --batch-size 64 --lr 1.5e-4 --embedding-lr 3e-3   # on a GPU

BERTFT_BENCH_DATA / BERTFT_BENCH_MODEL / BERTFT_BENCH_SUFFIX (see common.py) move the data, the model and the
result files for a run on another machine. --test-only scores the best checkpoint of an interrupted run.
"""

from __future__ import annotations

import argparse
import json
import sys

from common import REPO, SHARED_DATA, facts_markdown, machine_facts, peak_rss_gib, read_json, result_path, run

MSRA = SHARED_DATA / "msra_ner"
SPLIT = REPO / "results" / "msra_split_ids.json"
OUT = REPO / "outputs" / "bench_msra"
COMMON = ["--train_file", str(MSRA / "train.txt"), "--split_file", str(SPLIT), "--test_file", str(MSRA / "test.txt"),
          "--add_unk_chars", "--max_seq_length", "128", "--doc_stride", "32",
          "--per_device_eval_batch_size", "128", "--weight_decay", "0.01",
          "--warmup_steps", "0.06", "--logging_steps", "100", "--disable_tqdm", "true", "--seed", "42"]
RECIPE = ["--learning_rate", "1e-4", "--embedding_learning_rate", "2e-3"]
PROBES = {
    "lr 5e-4 everywhere": ["--learning_rate", "5e-4"],
    "lr 1e-4, embeddings 2e-3": RECIPE,
    "lr 2e-4, embeddings 5e-3": ["--learning_rate", "2e-4", "--embedding_learning_rate", "5e-3"],
}
BATCH = ["--per_device_train_batch_size", "32"]
ORIGINAL = {"BERT": 0.9545, "ALBERT": 0.9395, "RoBERTa": 0.9555}


def write_split() -> None:
    """train = train.txt minus lemonhu's validation indices; validation = those 3,000; test comes from test.txt."""
    validation = sorted(int(x) for x in (MSRA / "lemonhu_val_indices.txt").read_text().split())
    sentences = (MSRA / "train.txt").read_text(encoding="utf-8").count("\n\n")
    held = set(validation)
    SPLIT.write_text(json.dumps({"source_file": "train.txt", "index_base": 0,
                                 "note": "lemonhu/NER-BERT-pytorch validation split (random.seed(2019))",
                                 "sizes": {"train": sentences - len(held), "validation": len(held), "test": 0},
                                 "train": [i for i in range(sentences) if i not in held], "validation": validation,
                                 "test": []}))


def probe() -> None:
    rows = {}
    for name, flags in PROBES.items():
        out = OUT / ("probe_" + name.replace(" ", "_").replace(",", ""))
        wall = run("run_ner.py", [*COMMON, *BATCH, *flags, "--max_train_samples", "4000", "--max_eval_samples", "1000",
                                  "--num_train_epochs", "2", "--save_strategy", "no", "--do_train", "--do_eval",
                                  "--output_dir", str(out)], out.with_suffix(".log"))
        rows[name] = {"eval_f1": read_json(out / "eval_results.json")["eval_f1"], "wall_s": wall}
        print(name, rows[name], flush=True)
    (REPO / "results" / "msra_recipe_probe.json").write_text(json.dumps(rows, indent=2))


def recipe_flags(options: argparse.Namespace) -> list[str]:
    """Learning rates (and the masked-LM warm-up, when asked for) first, then the batch size."""
    warm_up = ["--mlm_warmup_epochs", str(options.mlm_warmup_epochs)] if options.mlm_warmup_epochs else []
    precision = ["--bf16"] if options.bf16 else ["--no_auto_bf16"]  # the bench says which; never left to the CPU
    return ["--learning_rate", options.lr, "--embedding_learning_rate", options.embedding_lr, *warm_up, *precision,
            "--per_device_train_batch_size", str(options.batch_size)]


def main(options: argparse.Namespace) -> None:
    epochs, recipe = options.epochs, recipe_flags(options)
    out = OUT / "full"
    facts = machine_facts()  # the commit and date of the training run, taken before it starts
    wall = run("run_ner.py", [*COMMON, *recipe, "--num_train_epochs", str(epochs), "--eval_strategy", "epoch",
                              "--save_strategy", "epoch", "--save_total_limit", "1", "--load_best_model_at_end",
                              "--metric_for_best_model", "f1", "--do_train", "--do_eval", "--do_predict",
                              "--output_dir", str(out)], out.with_suffix(".log"))
    train, test = read_json(out / "train_results.json"), read_json(out / "test_results.json")
    per_type = read_json(out / "test_entities.json")
    history = [h for h in read_json(out / "trainer_state.json")["log_history"] if "eval_f1" in h]
    data = read_json(out / "data_report.json")
    payload = {"facts": facts, "train": train, "test": test, "per_type": per_type, "validation_history": history,
               "data_report": data, "wall_s": wall, "peak_rss_gib": peak_rss_gib(), "recipe": recipe[:-2],
               "batch_size": options.batch_size, "epochs": epochs, "precision": "bf16" if options.bf16 else "fp32",
               "command": "python " + " ".join(sys.argv)}
    result_path("msra.json").write_text(json.dumps(payload, indent=2, ensure_ascii=False))
    write_report(payload)


def best_saved_model(out) -> tuple:
    """The final model of a finished run, else the best checkpoint an interrupted run kept (and its trainer state)."""
    if (out / "config.json").exists():
        return out, read_json(out / "trainer_state.json")
    checkpoints = sorted(out.glob("checkpoint-*"), key=lambda p: int(p.name.split("-")[1]))
    if not checkpoints:
        raise SystemExit(f"No saved model or checkpoint in {out}: nothing to score.")
    state = read_json(checkpoints[-1] / "trainer_state.json")  # the latest state knows the best checkpoint so far
    best = state.get("best_model_checkpoint") or str(checkpoints[-1])
    return OUT / "full" / best.rstrip("/").split("/")[-1], state


def test_only(options: argparse.Namespace) -> None:
    """Score the model a finished (or interrupted) main() run saved in outputs/bench_msra/full."""
    out, test_out = OUT / "full", OUT / "full_test"
    model, state = best_saved_model(out)
    wall = run("run_ner.py", ["--model_name_or_path", str(model), "--test_file", str(MSRA / "test.txt"), "--do_predict",
                              "--per_device_eval_batch_size", "128", "--disable_tqdm", "true",
                              "--output_dir", str(test_out)], test_out.with_suffix(".log"))
    test = read_json(test_out / "test_results.json")
    history = [h for h in state["log_history"] if "eval_f1" in h]
    train = (read_json(out / "train_results.json") if (out / "train_results.json").exists() else
             {"train_runtime": None, "train_samples_per_second": None, "interrupted_after_epoch": state["epoch"]})
    data = read_json(test_out / "data_report.json")
    if (out / "data_report.json").exists():  # the training run finished: its own report of the training data
        trained = read_json(out / "data_report.json")
        data["vocabulary"] = trained["vocabulary"]
        data["windowed_sentences"]["train"] = trained["windowed_sentences"].get("train")
    if options.cost_note is None:
        options.cost_note = (f"Training stopped after epoch {state['epoch']:.0f} of {options.epochs} (time limit); "
                             f"the best checkpoint ({model.name}) was scored by --test-only.")
    payload = {"facts": machine_facts(), "train": train, "test": test,
               "per_type": read_json(test_out / "test_entities.json"), "validation_history": history,
               "data_report": data, "wall_s": None, "test_wall_s": wall, "peak_rss_gib": None,
               "recipe": recipe_flags(options)[:-2], "batch_size": options.batch_size, "epochs": round(state["epoch"]),
               "test_peak_rss_gib": peak_rss_gib(), "cost_note": options.cost_note,
               "precision": "bf16" if options.bf16 else "fp32",
               "training_commit": "not recorded (the commit above is the scoring run's)"}
    result_path("msra.json").write_text(json.dumps(payload, indent=2, ensure_ascii=False))
    write_report(payload)


def write_report(payload: dict) -> None:
    """results/msra.md from the numbers in results/msra.json (and the recipe probe, when it was run)."""
    facts, train, test, per_type = payload["facts"], payload["train"], payload["test"], payload["per_type"]
    history, data, wall = payload["validation_history"], payload["data_report"], payload["wall_s"]
    epochs, recipe, batch = payload.get("epochs", 3), payload.get("recipe", RECIPE), payload.get("batch_size", 32)
    lines = ["# MSRA NER: run_ner.py with the embedded MiniLM and vocabulary extension", "",
             "Train: `train.txt` minus lemonhu's 3,000 validation sentences (42,000 sentences, split in "
             "`results/msra_split_ids.json`); best epoch chosen on those 3,000; test: the full `test.txt` "
             "(3,442 sentences, 172,601 characters, long sentences windowed, nothing truncated).", "",
             facts_markdown(facts, "python bench/msra_quality.py (training), then --test-only (test scoring)"
                            if payload.get("test_wall_s") else payload.get("command", "python bench/msra_quality.py")),
             f"Recipe: `--add_unk_chars {' '.join(recipe)}`, {epochs} epochs, batch {batch}, "
             f"{payload.get('precision', 'bf16')}, max_seq_length 128, "
             f"doc_stride 32, warm-up 6%, weight decay 0.01. Characters added to the vocabulary: "
             f"{data['vocabulary']['distinct_unknown_characters']} (they were "
             f"{100 * data['vocabulary']['unknown_fraction']:.1f}% of training characters).", "",
             "## Test set (full length)", "",
             "| type | precision | recall | F1 | support |", "|---|---:|---:|---:|---:|"]
    for name, values in per_type.items():
        lines.append(f"| {name} | {values['precision']:.4f} | {values['recall']:.4f} | {values['f1-score']:.4f} | "
                     f"{values['support']} |")
    lines += ["", f"Characters predicted: {test['test_tokens']} of 172,601 "
              f"(windowed test sentences: {data['windowed_sentences']['test']}).", "",
              "## Validation F1 per epoch", "", "| epoch | validation micro F1 |", "|---:|---:|"]
    lines += [f"| {h['epoch']:.0f} | {h['eval_f1']:.4f} |" for h in history]
    whole = f", whole run {wall / 60:.1f} min with evaluation" if wall else ""
    # measured figures only: ru_maxrss of the training run (and of the scoring run, for --test-only)
    memory = (f"{payload['peak_rss_gib']:.1f} GiB (training run, ru_maxrss)" if payload.get("peak_rss_gib") else
              "not measured for the training run")
    if payload.get("test_peak_rss_gib"):
        memory += f"; scoring the test set: {payload['test_peak_rss_gib']:.1f} GiB (ru_maxrss)"
    lines += ["", "## Cost", ""]
    if train.get("train_runtime"):
        lines.append(f"- training: {train['train_runtime'] / epochs / 60:.1f} min per epoch "
                     f"({train['train_samples_per_second']:.1f} windows/s){whole}")
    lines += [f"- peak resident memory (CPU): {memory}", ""]
    if payload.get("cost_note"):
        lines += [payload["cost_note"], ""]
    if payload.get("test_wall_s"):
        lines += ["The commit and date above are the scoring run's; the training run's were not recorded.", ""]
    probe_file = REPO / "results" / "msra_recipe_probe.json"
    if probe_file.exists():
        lines += ["## How the recipe was chosen (`python bench/msra_quality.py --probe`)", "",
                  "4,000 training sentences, 2 epochs, validation F1 on 1,000 of the validation sentences:", "",
                  "| learning rates | validation micro F1 |", "|---|---:|"]
        lines += [f"| {name} | {row['eval_f1']:.4f} |" for name, row in read_json(probe_file).items()]
        lines += ["", "The default for `--embedding_learning_rate` with `--add_unk_chars` (20x `--learning_rate`) "
                  "comes from this comparison.", ""]
    lines += [
              "## Beside the original report (micro F1, Chinese checkpoints)", "", "| model | micro F1 |", "|---|---:|"]
    lines += [f"| {k} (original report) | {v:.4f} |" for k, v in ORIGINAL.items()]
    lines.append(f"| MiniLM-L6 English + added characters (bertft) | {test['test_f1']:.4f} |")
    f1, unknown = test["test_f1"], 100 * data["vocabulary"]["unknown_fraction"]
    verdict = "reached" if f1 >= 0.90 else "not reached"
    types = {name: values["f1-score"] for name, values in per_type.items() if not name.endswith(" avg")}
    weakest, strongest = min(types, key=types.get), max(types, key=types.get)
    rising = len(history) > 1 and all(b["eval_f1"] > a["eval_f1"] for a, b in zip(history, history[1:], strict=False))
    lines += ["", "## What limits it", "",
              f"- The target (>= 0.90 micro F1) is {verdict}: {f1:.4f} on the full-length test set. The Chinese "
              "checkpoints of the original report know every character; the embedded MiniLM is an English model "
              f"whose vocabulary misses {unknown:.0f}% of the training characters, so their embeddings are drawn "
              "around the mean of the pretrained ones and learned from scratch.",
              f"- Weakest type: {weakest} (F1 {types[weakest]:.4f}); strongest: {strongest} ({types[strongest]:.4f}).",
              "- A Chinese checkpoint (e.g. `--model_name_or_path bert-base-chinese` with Hub access) needs no added "
              "characters and is the way to reach the original report's numbers."]
    if rising and train.get("train_runtime"):
        lines.insert(-1, f"- Validation F1 rose at every epoch ({history[0]['eval_f1']:.4f} to "
                         f"{history[-1]['eval_f1']:.4f}): more epochs would help; each cost "
                         f"{train['train_runtime'] / epochs / 60:.1f} min of training here.")
    if payload.get("notes"):
        lines += ["", "## How this run was made", "", *[f"- {note}" for note in payload["notes"]]]
    result_path("msra.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    sys.path.insert(0, str(REPO))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--probe", action="store_true", help="the short recipe comparison")
    parser.add_argument("--test-only", action="store_true", help="score the saved (best) model of the last run")
    parser.add_argument("--report", action="store_true", help="rewrite the .md from the .json")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--lr", default="1e-4")
    parser.add_argument("--embedding-lr", default="2e-3")
    parser.add_argument("--mlm-warmup-epochs", type=float, default=0, help="run_ner.py --mlm_warmup_epochs")
    parser.add_argument("--cost-note", default=None, help="a sentence for the report's cost section")
    parser.add_argument("--bf16", action="store_true", help="train in bf16 (default fp32: measure which is faster on "
                        "this machine first; on a CPU without native bf16 it is hundreds of times slower)")
    options = parser.parse_args()
    if not SPLIT.exists():
        write_split()
    if options.probe:
        probe()
    elif options.test_only:
        test_only(options)
    elif options.report:
        write_report(read_json(result_path("msra.json")))
    else:
        main(options)
