#!/usr/bin/env python
"""How the set-up of a training run grows with the data: Sarcasm v1 repeated (each copy's headlines varied so that
none repeat), run_classify.py with --max_steps 3 (reading, splitting, label counting, tokenizing, the Arrow dataset,
the first training steps), wall time, peak resident memory and the time of each phase per size.

    .venv/bin/python bench/scale.py                   # sizes 1x, 4x, 40x, 400x; results/scale.{json,md}
    .venv/bin/python bench/scale.py --sizes 1 4 40 400
    .venv/bin/python bench/scale.py --report          # rewrite the .md from the committed JSON only

Each size runs in a fresh process measured by GNU time (wall clock, maximum resident set size). The corpora are
written under outputs/bench_scale/ (400x is about 2.3 GB of JSON lines) and reused.
"""

from __future__ import annotations

import argparse
import calendar
import json
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

from common import (
    REPO,
    SHARED_DATA,
    earlier_runs,
    facts_markdown,
    machine_facts,
    read_json,
    with_earlier_runs,
    write_results,
)

SARCASM = SHARED_DATA / "sarcasm" / "Sarcasm_Headlines_Dataset.json"
WORK = REPO / "outputs" / "bench_scale"
GOAL_GROWTH = 1.1  # x10 data -> at most x11 time and memory beyond the fixed start-up


def corpus(copies: int) -> Path:
    """Sarcasm v1 `copies` times; copy k > 0 appends ` (k)` to every headline, so no headline repeats."""
    path = WORK / f"sarcasm_x{copies}.jsonl"
    if path.is_file():
        return path
    WORK.mkdir(parents=True, exist_ok=True)
    records = [json.loads(line) for line in SARCASM.read_text(encoding="utf-8").splitlines() if line.strip()]
    with open(path.with_suffix(".tmp"), "w", encoding="utf-8") as handle:
        for copy in range(copies):
            for record in records:
                varied = {**record, "headline": record["headline"] + (f" ({copy})" if copy else "")}
                handle.write(json.dumps(varied) + "\n")
    path.with_suffix(".tmp").rename(path)
    return path


def corpus_head(records: int) -> Path:
    """The first `records` headlines of Sarcasm v1: the run that measures the fixed start-up."""
    path = WORK / f"sarcasm_head{records}.jsonl"
    if not path.is_file():
        WORK.mkdir(parents=True, exist_ok=True)
        lines = [line for line in SARCASM.read_text(encoding="utf-8").splitlines() if line.strip()][:records]
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


PHASES = (  # (phase, the log message that ends it): the run's own log timestamps split its wall time
    ("imports and arguments", r"Process rank"),
    ("reading and splitting", r"Split of "),
    ("overlap check and labels", r"Labels \("),
    ("tokenizer and model loading", r"Model: "),
    ("vocabulary coverage", r"Vocabulary: "),
    ("tokenizing into Arrow", r"Precision: "),
    ("training 3 steps and saving", None),
)


def measured_run(data: Path, out: Path) -> dict:
    """run_classify.py on `data` for 3 training steps (see timed_run)."""
    command = [sys.executable, str(REPO / "run_classify.py"), "--train_file", str(data),
               "--text_column_name", "headline", "--label_column_name", "is_sarcastic", "--do_train",
               "--max_steps", "3", "--max_seq_length", "64", "--per_device_train_batch_size", "32",
               "--save_strategy", "no", "--html_report", "false", "--disable_tqdm", "true", "--output_dir", str(out)]
    row = timed_run(command, out)
    if row["exit_code"] == 0:
        row["train_samples"] = read_json(out / "all_results.json").get("train_samples")
    return row


def timed_run(command: list[str], out: Path, phase_list=None) -> dict:
    """`command` in a fresh process under GNU time (its log beside `out`, emptied first): wall seconds, peak
    resident memory, exit code and the seconds of each phase (from the log's timestamps). The environment is a
    user's: tokenizers' own threads on."""
    log = out.with_suffix(".log")
    shutil.rmtree(out, ignore_errors=True)  # a fresh run, never resumed
    started = time.time()
    with open(log, "w", encoding="utf-8") as handle:
        finished = subprocess.run(["/usr/bin/time", "-v", *command], cwd=REPO, stdout=handle,
                                  stderr=subprocess.STDOUT, env={"HF_HUB_OFFLINE": "1", "PATH": "/usr/bin:/bin"})
    text = log.read_text(encoding="utf-8")
    clock = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (\S+)", text).group(1).split(":")
    wall = sum(float(part) * 60 ** i for i, part in enumerate(reversed(clock)))
    rss_kib = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", text).group(1))
    return {"wall_s": round(wall, 2), "peak_rss_gib": round(rss_kib / 2**20, 3), "exit_code": finished.returncode,
            "phases_s": phases(text, started, wall, phase_list or PHASES)}


def phases(log: str, started: float, wall: float, phase_list=PHASES) -> dict[str, float]:
    """Seconds per phase: from the previous phase's end to the first later log line matching its message (log
    timestamps have one-second resolution); the last phase runs to the process's end."""
    stamps = [(calendar.timegm(time.strptime(m.group(1), "%m/%d/%Y %H:%M:%S")), m.group(2)) for m in
              re.finditer(r"^(\d\d/\d\d/\d{4} \d\d:\d\d:\d\d) - (.*)$", log, re.MULTILINE)]
    result, previous, position = {}, started, 0
    for name, pattern in phase_list:
        if pattern is None:
            result[name] = round(started + wall - previous, 1)
            break
        found = next((i for i in range(position, len(stamps)) if re.search(pattern, stamps[i][1])), None)
        if found is None:
            continue
        position = found
        result[name] = round(max(stamps[found][0] - previous, 0.0), 1)
        previous = max(previous, stamps[found][0])
    return result


REPEATED_BELOW = 1_000_000  # sizes with fewer records (and the start-up) run REPEATS times, interleaved
REPEATS = 3


def median_run(runs: list[dict]) -> dict:
    """The run of median wall time (its memory and phases), with every run's wall time and peak memory."""
    ordered = sorted(runs, key=lambda run: run["wall_s"])
    return {**ordered[len(ordered) // 2], "runs_wall_s": [run["wall_s"] for run in runs],
            "runs_peak_rss_gib": [run["peak_rss_gib"] for run in runs]}


def measure(sizes: list[int], start_up_records: int, large_repeats: int = 1) -> dict:
    """The start-up run and the small sizes REPEATS times, interleaved (their differences are a few seconds), then
    the large sizes `large_repeats` times, interleaved."""
    head = corpus_head(start_up_records)
    inputs = {"start-up": (head, start_up_records)} | {str(copies): (corpus(copies), 26709 * copies)
                                                        for copies in sizes}
    small = [name for name, (_, records) in inputs.items() if records < REPEATED_BELOW]
    runs: dict[str, list[dict]] = {name: [] for name in inputs}
    for name in small * REPEATS + [name for name in inputs if name not in small] * large_repeats:
        path, records = inputs[name]
        runs[name].append(measured_run(path, WORK / f"run_{name}"))
        print(name, runs[name][-1], flush=True)
    rows = {name: {"records": records, "bytes": path.stat().st_size, **median_run(runs[name])}
            for name, (path, records) in inputs.items()}
    command = (f"python bench/scale.py --sizes {' '.join(map(str, sizes))} --start_up_records {start_up_records}"
               + (f" --large_repeats {large_repeats}" if large_repeats > 1 else ""))
    return {"facts": machine_facts(), "command": command, "start_up": rows.pop("start-up"), "rows": rows,
            "large_repeats": large_repeats, "earlier": earlier_runs("scale")}


def report(data: dict) -> str:
    return with_earlier_runs(["# Scale: the set-up of a training run as the data grows", "",
                              "Generated by `bench/scale.py` from `results/scale.json`; do not edit."], data, render)


def render(data: dict) -> list[str]:
    """A run of this bench, as measured then (the first runs also predicted the test part)."""
    return report_run(data) if "phases_s" in next(iter(data["rows"].values())) else report_run_with_prediction(data)


def growth(rows: dict, seconds=lambda row: row["wall_s"], start_up: dict | None = None
           ) -> list[tuple[str, str, float, float, float, str]]:
    """For each pair of consecutive sizes: (previous size, size, factor, time growth, memory growth, verdict), both
    growths beyond the fixed start-up (goal: at most GOAL_GROWTH times the factor). The start-up is the run on a few
    records; earlier runs without one took their smallest size for it (which counts that size's records as fixed,
    so even a cost exactly proportional to the records showed 13x for 4x -> 40x)."""
    ordered = sorted(rows, key=int)
    if start_up is None:
        start_up, ordered = rows[ordered[0]], ordered[1:]
    base, result = start_up, []
    for small, large in zip(ordered, ordered[1:], strict=False):
        factor = int(large) / int(small)
        time_growth = (seconds(rows[large]) - seconds(base)) / (seconds(rows[small]) - seconds(base))
        memory_growth = ((rows[large]["peak_rss_gib"] - base["peak_rss_gib"])
                         / max(rows[small]["peak_rss_gib"] - base["peak_rss_gib"], 1e-9))
        verdict = "met" if max(time_growth, memory_growth) <= factor * GOAL_GROWTH else "NOT met"
        spread = max(base.get("runs_wall_s", [0])) - min(base.get("runs_wall_s", [0]))
        if seconds(rows[small]) - seconds(base) <= spread:
            verdict = (f"not resolved: {small}x is {seconds(rows[small]) - seconds(base):.1f} s above the start-up, "
                       f"whose own runs spread {spread:.1f} s")
        result.append((small, large, factor, time_growth, memory_growth, verdict))
    return result


def run_cells(row: dict, names: list[str]) -> str:
    """A measured run's whole time (with its exit code when it failed), peak memory and phase seconds, as cells."""
    failed = f" (exit code {row['exit_code']})" if row.get("exit_code") else ""
    return (f"{row['wall_s']:.1f}{failed} | {row['peak_rss_gib']:.2f} | "
            + " | ".join(f"{row['phases_s'][n]:.0f}" if n in row["phases_s"] else "" for n in names) + " |")


def report_run(data: dict) -> list[str]:
    rows = data["rows"]
    ordered = sorted(rows, key=int)
    names = [name for name, _ in PHASES]
    lines = [facts_markdown(data["facts"], data["command"]),
             "Sarcasm v1 (26,709 headlines) repeated, each copy's headlines varied so that none repeat; "
             "`run_classify.py --do_train --max_steps 3` (the embedded MiniLM, max length 64, the default 80/10/10 "
             "split; validation and test are set aside, as a training-only run does), one fresh process per size "
             "measured by GNU time, in a user's environment (tokenizers' threads on). Phases from the run's log "
             "timestamps (one-second resolution).", "",
             "| copies | records | JSON lines (MB) | whole run (s) | peak memory (GiB) | " + " | ".join(names) + " |",
             "|---:|---:|---:|---:|---:|" + "---:|" * len(names)]
    for copies in ordered:
        row = rows[copies]
        lines.append(f"| {copies} | {row['records']:,} | {row['bytes'] / 1e6:.0f} | {run_cells(row, names)}")
    start_up = data.get("start_up")
    if start_up:
        lines.append(f"| start-up: the first {start_up['records']:,} headlines | {start_up['records']:,} | "
                     f"{start_up['bytes'] / 1e6:.1f} | {run_cells(start_up, names)}")
    repeated = [(name, row) for name, row in [("start-up", start_up or {}), *rows.items()] if "runs_wall_s" in row]
    if repeated:
        large = data.get("large_repeats", 1)
        lines += ["", f"The start-up and the sizes under {REPEATED_BELOW:,} records ran {REPEATS} times, interleaved"
                  + (f", the larger sizes {large} times, interleaved" if large > 1 else "")
                  + "; the table shows the run of median wall time" + (" (of an even number of runs, the slower of "
                                                                       "the middle two)" if large % 2 == 0 else "")
                  + ". All their runs (s): "
                  + "; ".join(
                      f"{name}: {', '.join(f'{wall:.1f}' for wall in row['runs_wall_s'])}" for name, row in repeated)
                  + "."]
    lines += ["", "Growth beyond the fixed start-up " + ("(the run on the first headlines only" if start_up else
                                                         "(taken as the smallest run") +
              "; goal: x10 records, at most x11 time and memory):", ""]
    for small, large, factor, time_growth, memory_growth, verdict in growth(rows, start_up=start_up):
        lines.append(f"- {small}x -> {large}x ({factor:.0f}x the records): time {time_growth:.1f}x, memory "
                     f"{memory_growth:.1f}x beyond the fixed start-up (goal <= {factor * GOAL_GROWTH:.0f}x: {verdict})")
    for copies in ordered:
        row = rows[copies]
        if 1_000_000 <= row["records"] < 10_000_000:
            met = row["wall_s"] < 120 and row["peak_rss_gib"] < 4
            lines.append(f"- {copies}x ({row['records']:,} records): set up and 3 steps trained in "
                         f"{row['wall_s']:.0f} s with {row['peak_rss_gib']:.2f} GiB at peak (goal: under 2 minutes "
                         f"and 4 GiB: {'met' if met else 'NOT met'})")
        elif row["records"] >= 10_000_000:
            fits = row["peak_rss_gib"] < 24 and not row.get("exit_code")
            lines.append(f"- {copies}x ({row['records']:,} records): {row['peak_rss_gib']:.2f} GiB at peak (goal: "
                         f"within 24 GiB: {'met' if fits else 'NOT met'})")
    return lines


def report_run_with_prediction(data: dict) -> list[str]:
    """Earlier runs of this bench, which also predicted the test part (--do_predict)."""
    rows = data["rows"]
    base = rows[min(rows, key=int)]
    lines = [facts_markdown(data["facts"], data["command"]),
             "Sarcasm v1 (26,709 headlines) repeated, each copy's headlines varied so that none repeat; "
             "`run_classify.py --do_train --do_predict --max_steps 3` (the embedded MiniLM, max length 64, the "
             "default 80/10/10 split, so the test part grows with the data and is predicted in full), one fresh "
             "process per size measured by GNU time, TOKENIZERS_PARALLELISM=false.", "",
             "| copies | records | JSON lines (MB) | whole run (s) | test prediction (s) | rest (s) | peak memory "
             "(GiB) |", "|---:|---:|---:|---:|---:|---:|---:|"]
    for copies, row in rows.items():
        lines.append(f"| {copies} | {row['records']:,} | {row['bytes'] / 1e6:.0f} | {row['wall_s']:.1f} | "
                     f"{row['predict_s']:.1f} | {row['wall_s'] - row['predict_s']:.1f} | {row['peak_rss_gib']:.2f} |")
    lines += ["", "Growth of the set-up (the whole run less the test prediction) and of the peak memory beyond the "
              "smallest run, taken as the fixed start-up (goal: tenfold records, at most elevenfold):", ""]
    ordered = sorted(rows, key=int)

    def setup(copies: str) -> float:
        return rows[copies]["wall_s"] - rows[copies]["predict_s"]

    for small, large, factor, time_growth, memory_growth, verdict in growth(
            rows, lambda row: row["wall_s"] - row["predict_s"]):
        lines.append(f"- {small}x -> {large}x ({factor:.0f}x the records): set-up {time_growth:.1f}x, memory "
                     f"{memory_growth:.1f}x beyond the fixed start-up (goal <= {factor * GOAL_GROWTH:.0f}x: {verdict})")
    for copies in ordered:
        if rows[copies]["records"] >= 1_000_000:
            met = setup(copies) < 120 and rows[copies]["peak_rss_gib"] < 4
            lines.append(f"- {copies}x ({rows[copies]['records']:,} records): set up in {setup(copies):.0f} s with "
                         f"{rows[copies]['peak_rss_gib']:.2f} GiB at peak (goal: under 2 minutes and 4 GiB: "
                         f"{'met' if met else 'NOT met'})")
    lines += ["", f"Test prediction grows with the test part it predicts in full ({base['test_samples']:,} records at "
              f"{ordered[0]}x)."]
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1, 4, 40, 400], help="Copies of Sarcasm v1.")
    parser.add_argument("--start_up_records", type=int, default=1000,
                        help="Headlines of the run whose time and memory are taken as the fixed start-up.")
    parser.add_argument("--large_repeats", type=int, default=1,
                        help=f"Runs of each size of {REPEATED_BELOW:,} records or more (interleaved).")
    parser.add_argument("--report", action="store_true", help="Only rewrite the .md from the committed JSON.")
    args = parser.parse_args()
    write_results("scale", report, None if args.report else lambda: measure(args.sizes, args.start_up_records,
                                                                            args.large_repeats))


if __name__ == "__main__":
    main()
