"""Helpers for benchmark scripts: run a bertft script, and describe the machine and software versions."""

from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
# Where the real datasets are, and which model to fine-tune: ../shared/data and the embedded MiniLM unless the
# environment says otherwise (a machine where ../shared is not mounted, a copy of the model folder).
SHARED_DATA = Path(os.environ.get("BERTFT_BENCH_DATA", REPO.parent / "shared" / "data"))
MODEL = os.environ.get("BERTFT_BENCH_MODEL", "embedded")
# Results of a run on other hardware go to results/<name><suffix>.md so the CPU tables stay as measured.
SUFFIX = os.environ.get("BERTFT_BENCH_SUFFIX", "")


def result_path(name: str) -> Path:
    """results/<name><SUFFIX> (name includes the extension's stem and extension, e.g. 'msra.md')."""
    stem, ext = name.rsplit(".", 1)
    return REPO / "results" / f"{stem}{SUFFIX}.{ext}"


def run(script: str, args: list[str], log_path: Path) -> float:
    """Run `python script args` with the Hub offline; the log goes to log_path. Returns wall seconds.

    The run's --output_dir is emptied first: a benchmark never resumes from an earlier run's checkpoints.

    `peak_rss_gib()` afterwards gives the largest resident memory of any child run so far.
    """
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    if "--output_dir" in args:
        shutil.rmtree(args[args.index("--output_dir") + 1], ignore_errors=True)
    start = time.perf_counter()
    Path(log_path).parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "w", encoding="utf-8") as log:
        model = [] if "--model_name_or_path" in args else ["--model_name_or_path", MODEL]
        subprocess.run([sys.executable, str(REPO / script), *model, *args], cwd=REPO, env=env, stdout=log,
                       stderr=subprocess.STDOUT, check=True)
    return time.perf_counter() - start


def chosen_precision(log: Path) -> str | None:
    """The precision a run with measured precision chose, from its log ("Precision: fp32, measured ...")."""
    import re

    found = re.search(r"Precision: (fp32|bf16)", Path(log).read_text(encoding="utf-8", errors="replace"))
    return found.group(1) if found else None


def earlier_runs(name: str) -> list[dict]:
    """The runs already in results/<name>.json (its own earlier ones first, then itself), to keep in the new one."""
    path = result_path(f"{name}.json")
    previous = read_json(path) if path.exists() else None
    return [*previous.pop("earlier", []), previous] if previous else []


def peak_rss_gib() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 2**20


def machine_facts() -> dict:
    from importlib.metadata import PackageNotFoundError, version

    import torch
    import transformers

    from bertft_utils.runtime.machine_cache import cpu_model

    versions = {"python": platform.python_version(), "torch": torch.__version__,
                "transformers": transformers.__version__}
    for name in ("datasets", "accelerate", "tokenizers", "seqeval", "scikit-learn"):
        try:
            versions[name] = version(name)
        except PackageNotFoundError:
            versions[name] = "not installed"
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    return {
        "gpu": gpu,
        "date_utc": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M"),
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "memory_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
        "versions": versions,
        "git_commit": subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True,
                                     text=True).stdout.strip() + uncommitted_note(),
    }


def uncommitted_note() -> str:
    """' (with uncommitted changes)' when tracked files differ from HEAD: the commit alone does not say what ran."""
    changed = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=REPO, capture_output=True,
                             text=True).stdout.strip()
    return " (with uncommitted changes)" if changed else ""


def matmul_peaks(budget_s: float = 2.0) -> dict:
    """The machine's square-matmul speed in GFLOP/s, fp32 and bf16: the best over sizes 256..4096.

    Each size is timed for about `budget_s` seconds; sizes stop growing once one product takes longer than
    `budget_s` / 2 (bf16 without hardware support runs at ~1 GFLOP/s: a 4096 product would take two minutes).
    """
    import torch

    peaks = {}
    for dtype in (torch.float32, torch.bfloat16):
        best, sizes = 0.0, {}
        for n in (256, 512, 1024, 2048, 4096):
            a, b = torch.randn(n, n, dtype=dtype), torch.randn(n, n, dtype=dtype)
            start = time.perf_counter()
            a @ b
            once = time.perf_counter() - start
            repeats = max(1, int(budget_s / max(once, 1e-6)))
            start = time.perf_counter()
            for _ in range(repeats):
                a @ b
            seconds = (time.perf_counter() - start) / repeats
            sizes[n] = round(2 * n**3 / seconds / 1e9, 1)
            best = max(best, sizes[n])
            if seconds > budget_s / 2:
                break
        peaks[str(dtype).removeprefix("torch.")] = {"gflops": round(best, 1), "by_size": sizes}
    return peaks


def reference_peak(facts: dict) -> tuple[str, float]:
    """(precision, GFLOP/s): the faster precision's best matmul speed over the measurements before and after the
    runs (the speed of a shared cloud CPU drifts: the higher figure gives the lower, safer fraction)."""
    measured = [facts[key] for key in ("matmul_peaks", "matmul_peaks_after") if key in facts]
    best = {name: max(m[name]["gflops"] for m in measured) for name in ("float32", "bfloat16")}
    fast = max(best, key=best.get)
    return fast, best[fast]


def facts_markdown(facts: dict, command: str) -> str:
    versions = ", ".join(f"{k} {v}" for k, v in facts["versions"].items())
    text = (f"- command: `{command}`\n- date (UTC): {facts['date_utc']}, commit {facts['git_commit']}\n"
            f"- machine: {facts['cpu']}, {facts['cores']} cores ({facts['torch_threads']} torch threads), "
            f"{facts['memory_gib']} GiB, {facts.get('gpu') or 'no GPU'}\n- software: {versions}\n")
    for key, when in (("matmul_peaks", "before"), ("matmul_peaks_after", "after")):
        if key in facts:
            peaks = facts[key]
            text += (f"- matmul peak measured {when} the runs (square products, best size): fp32 "
                     f"{peaks['float32']['gflops']:.1f} GFLOP/s, bf16 {peaks['bfloat16']['gflops']:.1f} GFLOP/s\n")
    return text


def read_json(path: Path) -> dict:
    return json.loads(Path(path).read_text(encoding="utf-8"))


def with_earlier_runs(header: list[str], data: dict, render) -> str:
    """A results page: `header`, this run rendered by `render(run) -> lines`, then each earlier run, newest first."""
    lines = [*header, "", "## This run", "", *render(data)]
    for earlier in reversed(data.get("earlier", [])):
        lines += ["", f"## Earlier run: commit {earlier['facts']['git_commit']}, {earlier['facts']['date_utc']}", "",
                  *render(earlier)]
    return "\n".join(lines) + "\n"


def write_results(name: str, report, measure=None) -> None:
    """results/<name>.json from `measure()` (skipped when None: `--report`), then results/<name>.md rendered by
    `report` from the JSON alone, and printed."""
    json_path, md_path = result_path(f"{name}.json"), result_path(f"{name}.md")
    if measure is not None:
        json_path.write_text(json.dumps(measure(), indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    md_path.write_text(report(read_json(json_path)), encoding="utf-8")
    print(md_path.read_text(encoding="utf-8"))


def model_bench_arguments(description: str):
    """`MODEL_DIR` (a fine-tuned model folder) or `--report`, for benchmarks that measure one saved model."""
    import argparse

    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("model_dir", nargs="?", help="a fine-tuned model folder")
    parser.add_argument("--report", action="store_true", help="Rewrite the .md from the committed JSON only.")
    args = parser.parse_args()
    if not args.report and not args.model_dir:
        parser.error("give the fine-tuned model folder (or --report)")
    return args


def slower_for_sure(flops: float, peaks: dict, faster_seconds: float) -> float | None:
    """The least time a bf16 run of `flops` matmul work can take at the machine's measured bf16 matmul peak, when that
    already exceeds the measured fp32 run of the same configuration (`faster_seconds`): the bf16 variant cannot be the
    faster one, and running it would only cost time (software-emulated bf16 runs ~100x slower). Else None."""
    bound = flops / (peaks["bfloat16"]["gflops"] * 1e9)
    return bound if bound > faster_seconds else None


def training_flops(model_path: str, lengths: list[int]) -> float:
    """Matmul FLOPs of one training epoch over sequences of these real (non-padding) lengths.

    6 x the encoder's weight-matrix entries per token (forward 2, backward 4) plus the attention products
    (QK^T and AV: 4 x layers x hidden x length^2 per sequence forward, x3 with backward). Padding is not counted:
    this is the useful work, so padding shows up as a lower fraction of the peak.
    """
    from transformers import AutoConfig, AutoModel

    config = AutoConfig.from_pretrained(model_path)
    model = AutoModel.from_config(config)
    dense = sum(p.numel() for name, p in model.named_parameters()
                if p.dim() == 2 and not name.startswith(("embeddings", "pooler")))
    layers, hidden = config.num_hidden_layers, config.hidden_size
    return float(sum(6 * dense * n + 12 * layers * hidden * n * n for n in lengths))


def inference_flops(model_path: str, lengths: list[int]) -> float:
    """Matmul FLOPs of one forward pass over sequences of these lengths (a third of training_flops)."""
    return training_flops(model_path, lengths) / 3
