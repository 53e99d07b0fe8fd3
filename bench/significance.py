#!/usr/bin/env python
"""Which differences are real? `python -m bertft_utils.compare` on real runs: two Sarcasm v1 configurations x 3 seeds,
and MSRA NER decoded three ways (argmax, Viterbi, CRF).

Sarcasm v1 (the full file, bench/sarcasm_quality.py's seeded 80/10/10 split, the same for every run; embedded MiniLM,
bf16, best epoch on validation): *recipe* is results/sarcasm.md's configuration (lr 5e-5, batch 32, weight decay
0.01, 4 epochs), *searched* the best trial of results/sarcasm_search.md (lr 1.47e-4, batch 64, no weight decay,
4 epochs); seeds 42, 43, 44 (the training seed; the split seed stays 42). MSRA: bench/ner_crf.py's two trainings
(a token classifier decoded by argmax and by Viterbi, a CRF), reduced as given (`--ner-train-samples`, `--ner-epochs`).
Compared: the two configurations over their seeds; the two configurations on seed 42 alone (what a one-run table
shows); the three seeds of *recipe* against each other (seed-to-seed variation); the three NER decodings.

Every run keeps its folder under outputs/bench_significance: rerunning the command after an interruption skips the
runs that finished (their test_results.json is written last) and compares again.

    .venv/bin/python bench/significance.py                # about an hour on 2 cores
    .venv/bin/python bench/significance.py --report       # results/significance.md from the committed JSON only
"""

from __future__ import annotations

import argparse
import subprocess
import sys

from common import REPO, facts_markdown, machine_facts, read_json, run, write_results
from ner_crf import score as score_ner
from ner_crf import train as train_ner
from sarcasm_quality import COMMON as SARCASM_COMMON

OUT = REPO / "outputs" / "bench_significance"
SEEDS = (42, 43, 44)
CONFIGS = {
    "recipe": {"what": "results/sarcasm.md's configuration: lr 5e-5, batch 32, weight decay 0.01, 4 epochs",
               "flags": ["--learning_rate", "5e-5", "--num_train_epochs", "4", "--per_device_train_batch_size", "32",
                         "--weight_decay", "0.01"]},
    "searched": {"what": "results/sarcasm_search.md's best trial: lr 1.47e-4, batch 64, no weight decay, 4 epochs",
                 "flags": ["--learning_rate", "1.4696e-4", "--num_train_epochs", "4", "--per_device_train_batch_size",
                           "64", "--weight_decay", "0.0"]},
}
NER_DECODINGS = (("argmax", "plain"), ("viterbi", "plain"), ("crf", "crf"))


def without(flags: list[str], names: set[str]) -> list[str]:
    """flags minus the named options and their values (the configurations set them)."""
    kept, skip = [], False
    for flag in flags:
        if skip:
            skip = False
        elif flag in names:
            skip = True
        else:
            kept.append(flag)
    return kept


def sarcasm_run(config: str, seed: int) -> dict:
    out = OUT / "sarcasm" / config / f"seed{seed}"
    if not (out / "test_results.json").is_file():  # written last: a run without it is started again
        flags = CONFIGS[config]["flags"]
        common = without(SARCASM_COMMON, {"--seed", *flags[::2]})
        wall = run("run_classify.py", [*common, *flags, "--seed", str(seed), "--output_dir", str(out)],
                   out.with_suffix(".log"))
        (out / "wall_s.txt").write_text(f"{wall:.1f}\n")
    wall_file = out / "wall_s.txt"
    return {"config": config, "seed": seed, "folder": str(out.relative_to(REPO)),
            "wall_s": float(wall_file.read_text()) if wall_file.is_file() else None,
            "validation": read_json(out / "eval_results.json"), "test": read_json(out / "test_results.json")}


def ner_runs(args) -> dict:
    settings = argparse.Namespace(max_train_samples=args.ner_train_samples, epochs=args.ner_epochs)
    rows = {}
    for model, decoding in (("plain", "viterbi"), ("crf", "crf")):
        if not (OUT / "ner" / model / "train_results.json").is_file():
            train_ner(OUT / "ner" / model, decoding, settings)
    for decoding, model in NER_DECODINGS:
        out = OUT / "ner" / f"score_{decoding}"  # not the model folders: a run empties its output folder
        if not (out / "test_results.json").is_file():
            score_ner(OUT / "ner" / model, decoding, out)
        rows[decoding] = {"folder": str(out.relative_to(REPO)), "validation": read_json(out / "eval_results.json"),
                          "test": read_json(out / "test_results.json")}
    return rows


def adjusted(pair: dict) -> float:
    """A pair's adjusted p (`p_holm` in comparisons made before compare's Bonferroni family)."""
    return pair.get("p_adjusted", pair.get("p_holm"))


def compare(name: str, groups: dict[str, list[str]]) -> dict:
    """`python -m bertft_utils.compare` as a user runs it; its comparison.json."""
    out = OUT / "comparisons" / name
    folders = [folder for members in groups.values() for folder in members]
    flags = [f"--group={group}={','.join(members)}" for group, members in groups.items()]
    subprocess.run([sys.executable, "-m", "bertft_utils.compare", *folders, *flags, "--output", str(out)],
                   cwd=REPO, check=True, stdout=subprocess.DEVNULL)
    return {"command": "python -m bertft_utils.compare " + " ".join(flags), **read_json(out / "comparison.json")}


def measure(args) -> dict:
    facts = machine_facts()
    ner = ner_runs(args)
    sarcasm = [sarcasm_run(config, seed) for config in CONFIGS for seed in SEEDS]
    folder = {(r["config"], r["seed"]): r["folder"] for r in sarcasm}
    comparisons = {
        "sarcasm: recipe vs searched, 3 seeds each": compare("configs", {
            config: [folder[config, seed] for seed in SEEDS] for config in CONFIGS}),
        "sarcasm: recipe vs searched, seed 42 only": compare("configs_seed42", {
            config: [folder[config, 42]] for config in CONFIGS}),
        "sarcasm: recipe, seed against seed": compare("recipe_seeds", {
            f"seed{seed}": [folder["recipe", seed]] for seed in SEEDS}),
        "MSRA NER: argmax vs Viterbi vs CRF": compare("ner", {
            decoding: [row["folder"]] for decoding, row in ner.items()}),
    }
    command = (f"python bench/significance.py --ner-train-samples {args.ner_train_samples} "
               f"--ner-epochs {args.ner_epochs:g}")
    return {"facts": facts, "command": command, "configs": {k: v["what"] for k, v in CONFIGS.items()},
            "seeds": list(SEEDS), "ner_train_samples": args.ner_train_samples, "ner_epochs": args.ner_epochs,
            "sarcasm": sarcasm, "ner": ner, "comparisons": comparisons}


def _with_ci(results: dict, key: str, scale: float = 100, digits: int = 2) -> str:
    value = results[key]
    low, high = results.get(f"{key}_ci_low"), results.get(f"{key}_ci_high")
    text = f"{scale * value:.{digits}f}"
    return text + (f" ({scale * low:.{digits}f}–{scale * high:.{digits}f})" if low is not None else "")


def _comparison_lines(name: str, result: dict, metrics: tuple[str, ...]) -> list[str]:
    unit = "sentences" if result["kind"] == "ner" else "headlines"
    lines = [f"### {name}", "", f"`{result['command']}` — {result['items']:,} test {unit}, paired bootstrap "
             f"({result['resamples']:,} resamples, seed {result['seed']}), p Holm-corrected over the pairs.", "",
             "| metric | pair | difference (points) | 95% CI | p (Holm) | McNemar p | minimum detectable (points) | "
             "verdict |", "|---|---|---:|---|---:|---:|---:|---|"]
    for metric in metrics:
        for pair in result["metrics"][metric]["pairs"]:
            exact = f"{pair['mcnemar']['p']:.3g}" if "mcnemar" in pair else "–"
            lines.append(f"| {metric} | {pair['first']} vs {pair['second']} | {100 * pair['difference']:+.2f} | "
                         f"{100 * pair['ci_low']:+.2f} to {100 * pair['ci_high']:+.2f} | {adjusted(pair):.3g} | "
                         f"{exact} | {100 * pair['minimum_detectable_difference']:.2f} | {pair['verdict']} |")
    groups = result["metrics"][metrics[0]]["groups"]
    if any(g["runs"] > 1 for g in groups.values()):
        lines += ["", f"Over the seeds ({metrics[0]}, %): " + "; ".join(
            f"{name} mean {100 * g['mean']:.2f} ± {100 * g['std']:.2f} (min {100 * g['min']:.2f}, max "
            f"{100 * g['max']:.2f})" for name, g in groups.items())]
    return [*lines, ""]


def report(data: dict) -> str:
    lines = ["# Is the difference real? Paired comparisons of real runs", "",
             "Generated by `bench/significance.py` from `results/significance.json`; do not edit.", "",
             facts_markdown(data["facts"], data["command"]),
             "## Sarcasm v1: two configurations x 3 seeds", "",
             "The full file, bench/sarcasm_quality.py's seeded (42) stratified 80/10/10 split, the same in every run; "
             "the embedded MiniLM, max length 64, bf16, the best epoch chosen on validation accuracy. Seeds "
             f"{', '.join(map(str, data['seeds']))} set the training (initialisation of the head, order of batches), "
             "not the split.", ""]
    lines += [f"- *{name}*: {what}" for name, what in data["configs"].items()]
    lines += ["", "| configuration | seed | validation accuracy | test accuracy (95% CI) | test F1 (95% CI) |",
              "|---|---:|---:|---|---|"]
    for r in data["sarcasm"]:  # no times: they are not what this measures (and other jobs may have run beside)
        lines.append(f"| {r['config']} | {r['seed']} | {100 * r['validation']['eval_accuracy']:.2f} | "
                     f"{_with_ci(r['test'], 'test_accuracy')} | {_with_ci(r['test'], 'test_f1')} |")
    lines += ["", "## MSRA NER: one test file decoded three ways", "",
              f"bench/ner_crf.py's two trainings on {data['ner_train_samples']:,} seeded training sentences, "
              f"{data['ner_epochs']:g} epoch(s), seed 42 (a reduced run: the scores are far below a full training's): "
              "a token classifier decoded by argmax and by constrained Viterbi, and a CRF. Test: the full MSRA test "
              "file; entity-level F1 (seqeval).", "",
              "| decoding | validation micro F1 | test micro F1 (95% CI) | test macro F1 (95% CI) |",
              "|---|---:|---|---|"]
    for decoding, row in data["ner"].items():
        lines.append(f"| {decoding} | {100 * row['validation']['eval_f1']:.2f} | {_with_ci(row['test'], 'test_f1')} | "
                     f"{_with_ci(row['test'], 'test_macro_f1')} |")
    lines += ["", "## The comparisons", ""]
    for name, result in data["comparisons"].items():
        metrics = ("f1", "macro_f1") if result["kind"] == "ner" else ("accuracy", "f1")
        lines += _comparison_lines(name, result, metrics)
    lines += ["## What this says", "", *[f"- {line}" for line in conclusions(data)]]
    return "\n".join(lines) + "\n"


def conclusions(data: dict) -> list[str]:
    """One line per comparison, from its verdicts (accuracy for Sarcasm, micro F1 for NER)."""
    lines = []
    for name, result in data["comparisons"].items():
        metric = "f1" if result["kind"] == "ner" else "accuracy"
        verdicts = "; ".join(f"{p['first']} vs {p['second']}: {p['verdict']} ({100 * p['difference']:+.2f} points, "
                             f"p = {adjusted(p):.2g})" for p in result["metrics"][metric]["pairs"])
        lines.append(f"{name} ({'micro F1' if metric == 'f1' else metric}): {verdicts}.")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ner-train-samples", type=int, default=8000)
    parser.add_argument("--ner-epochs", type=float, default=1.0)
    parser.add_argument("--report", action="store_true", help="Rewrite the .md from the committed JSON only.")
    args = parser.parse_args()
    write_results("significance", report, None if args.report else lambda: measure(args))


if __name__ == "__main__":
    sys.path.insert(0, str(REPO))
    main()
