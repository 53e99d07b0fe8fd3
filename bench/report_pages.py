#!/usr/bin/env python
"""report.html on real runs: file size, time to build it, time to open it in headless Chromium, time to filter it,
and screenshots, for an MSRA run (3,442 test sentences) and for pages comparing three runs.

    .venv/bin/python bench/report_pages.py            # results/report_pages.{json,md} and results/report_pages/*.png
    .venv/bin/python bench/report_pages.py --report   # rewrite the .md from the committed JSON only

Needs the runs of bench/significance.py (outputs/bench_significance/ner/score_{argmax,viterbi,crf}: bench/ner_crf.py's
two models on the full MSRA test file) and Debian's chromium, chromium-driver and a CJK font (fonts-wqy-zenhei).
Each page is built by the module's command line (whole command, process start to exit) and opened in a new
Chromium (its start not counted) once per round, ROUNDS rounds interleaved; medians and ranges.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from common import REPO, facts_markdown, machine_facts, write_results

ROUNDS = 3
RUNS = REPO / "outputs" / "bench_significance" / "ner"
BUILT = REPO / "outputs" / "report_pages"
SHOTS = REPO / "results" / "report_pages"
PAGES = {  # name -> (run folders, what they are)
    "msra_report": (["score_crf"], "one run: the CRF model, full MSRA test file"),
    "msra_three_runs": (["score_argmax", "score_viterbi", "score_crf"],
                        "three runs on the full MSRA test file: a token classifier decoded by argmax and by "
                        "constrained Viterbi, and a CRF"),
}
SMOKE_PAGE = REPO / "results" / "reproduction_smoke" / "ner" / "comparison_report.html"
FILTER_TYPE = "type:ORG"


def build(name: str) -> tuple[Path, float]:
    """The page built by `python -m bertft_utils.report_html`, and the whole command's wall time."""
    folders, _ = PAGES[name]
    path = BUILT / f"{name}.html"
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "bertft_utils.report_html", *(str(RUNS / f) for f in folders), "--output",
                    str(path)], cwd=REPO, check=True, capture_output=True)
    return path, time.perf_counter() - started


def open_and_filter(path: Path, screenshot: Path | None) -> dict:
    """Open the page in a new headless Chromium; time the load, the page's rendering, and one type filter (with the
    layout it forces)."""
    sys.path.insert(0, str(REPO))
    from bertft_utils.testing.browser import headless_chromium, timed_load

    driver = headless_chromium(1280, 1800)
    try:
        timing = timed_load(driver, path)
        count = driver.find_element("id", "count").text
        filter_ms = driver.execute_script(
            "const s = document.querySelector('select[data-name=\"type\"]'); s.value = arguments[0];"
            "const t = performance.now(); s.dispatchEvent(new Event('change')); document.body.offsetHeight;"
            "return performance.now() - t;",
            FILTER_TYPE)
        filtered = driver.find_element("id", "count").text
        if screenshot is not None:
            driver.execute_script("const s = document.querySelector('select[data-name=\"type\"]'); s.value = '';"
                                  "s.dispatchEvent(new Event('change')); window.scrollTo(0, 0);")
            driver.save_screenshot(str(screenshot))
            driver.execute_script("const s = document.querySelector('select[data-name=\"type\"]'); s.value = "
                                  "arguments[0]; s.dispatchEvent(new Event('change'));"
                                  "document.querySelector('.controls').scrollIntoView();", FILTER_TYPE)
            driver.save_screenshot(str(screenshot.with_name(screenshot.stem + "_filtered.png")))
    finally:
        driver.quit()
    return {**timing, "count": count, "filter_s": filter_ms / 1000, "filtered_count": filtered}


def spread(values: list[float]) -> dict:
    return {"median": statistics.median(values), "min": min(values), "max": max(values), "values": values}


def measure() -> dict:
    BUILT.mkdir(parents=True, exist_ok=True)
    SHOTS.mkdir(parents=True, exist_ok=True)
    samples: dict[str, dict[str, list]] = {name: {} for name in [*PAGES, "smoke_three_models"]}
    last: dict[str, dict] = {}
    for round_index in range(ROUNDS):
        for name in PAGES:
            path, build_s = build(name)
            shot = SHOTS / f"{name}.png" if round_index == ROUNDS - 1 else None
            seen = {"build_s": build_s, **open_and_filter(path, shot)}
            for key in ("build_s", "load_s", "render_s", "filter_s"):
                samples[name].setdefault(key, []).append(seen[key])
            last[name] = {**seen, "bytes": path.stat().st_size}
        shot = SHOTS / "smoke_three_models.png" if round_index == ROUNDS - 1 else None
        seen = open_and_filter(SMOKE_PAGE, shot)
        for key in ("load_s", "render_s", "filter_s"):
            samples["smoke_three_models"].setdefault(key, []).append(seen[key])
        last["smoke_three_models"] = {**seen, "bytes": SMOKE_PAGE.stat().st_size}
        print(f"round {round_index + 1}: {last}", flush=True)
    chromium = subprocess.run(["/usr/bin/chromium", "--version"], capture_output=True, text=True).stdout.strip()
    return {"facts": machine_facts(), "command": "python bench/report_pages.py", "chromium": chromium,
            "rounds": ROUNDS, "filter": FILTER_TYPE,
            "pages": {name: {"bytes": last[name]["bytes"], "count": last[name]["count"],
                             "filtered_count": last[name]["filtered_count"],
                             "console_errors": last[name]["console_errors"],
                             **{key: spread(values) for key, values in samples[name].items()}}
                      for name in samples}}


def seconds(entry: dict | None) -> str:
    if entry is None:
        return "–"
    return f"{entry['median']:.2f} ({entry['min']:.2f}–{entry['max']:.2f})"


def report(data: dict) -> str:
    described = {**{name: what for name, (_, what) in PAGES.items()},
                 "smoke_three_models": "three models (tiny BERT, ALBERT and RoBERTa look-alikes of the smoke "
                                       "reproduction, results/reproduction_smoke/ner/comparison_report.html)"}
    lines = ["# report.html on real runs: size, build, load and filter times", "",
             "Generated by `bench/report_pages.py` from `results/report_pages.json`; do not edit.", "",
             facts_markdown(data["facts"], data["command"]) + f"- browser: {data['chromium']} (headless, selenium), "
             "with a CJK font (fonts-wqy-zenhei)", "",
             f"Each page built by `python -m bertft_utils.report_html RUN_DIR [RUN_DIR ...] --output PAGE` (whole "
             f"command, process start to exit) and opened in a new headless Chromium, {data['rounds']} rounds "
             "interleaved; seconds as median (min–max). Load: until the browser reports the page loaded (the "
             "page's script has then drawn every item); render: the script's own share; filter: choosing the "
             f"entity type `{data['filter'].removeprefix('type:')}` until the page is laid out again. The runs are "
             "bench/significance.py's (bench/ner_crf.py's two models trained on 8,000 MSRA sentences for 1 epoch: "
             "the scores are far below a full training's).", "",
             "| page | what | size (MB) | items shown | build (s) | load (s) | render (s) | filter (s) | console "
             "errors |", "|---|---|---:|---|---:|---:|---:|---:|---:|"]
    for name, page in data["pages"].items():
        lines.append(f"| {name} | {described[name]} | {page['bytes'] / 1e6:.2f} | {page['count']}; "
                     f"{page['filtered_count']} of type {data['filter'].removeprefix('type:')} | "
                     f"{seconds(page.get('build_s'))} | {seconds(page['load_s'])} | {seconds(page['render_s'])} | "
                     f"{seconds(page['filter_s'])} | {len(page['console_errors'])} |")
    lines += ["", "Screenshots (the last round; each page at the top, then filtered by the type and scrolled to the "
              "list):", ""]
    for name in data["pages"]:
        lines += [f"- {name}: [top](report_pages/{name}.png), [filtered](report_pages/{name}_filtered.png)"]
    lines += ["", "Without a CJK font, Chromium looks through every installed font for each Chinese character and the "
              "MSRA pages load far slower (seen while writing this bench, not measured here); .ci/run installs one."]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--report", action="store_true", help="Only rewrite the .md from the committed JSON.")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    write_results("report_pages", report, None if args.report else measure)


if __name__ == "__main__":
    main()
