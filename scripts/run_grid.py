#!/usr/bin/env python
"""Run a reproduction's grid of (task, model, seed) runs at once: over the GPUs of this machine, or as Ray jobs on a
cluster (used by scripts/reproduce_report.sh --parallel N [--ray]).

    python scripts/run_grid.py add --log LOG GRID -- TASK SCRIPT MODEL SEED ARGS...  # one run, appended to GRID
    python scripts/run_grid.py run GRID --parallel N [--ray]                # every run of GRID, up to N at once

Each run is `bash scripts/run_job.sh TASK SCRIPT MODEL SEED ARGS...`, which does what the sequential scripts do for
one run (skip it when finished with the same settings, resume it from its last checkpoint, record it), so a grid can
be run again after a failure or an interruption. Locally, with GPUs (CUDA_VISIBLE_DEVICES, else every GPU torch
sees) up to N runs go at once, each pinned to its own GPU; without GPUs one at a time (two trainings on the same
cores are slower than one after the other). With --ray every run is one Ray task with one GPU (none on a CPU-only
cluster) on the cluster RAY_ADDRESS names, else on a local Ray instance; the nodes need this repository, its Python
environment and the data at the same paths. The first failed run stops the others and names its log.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
JOB_SCRIPT = REPO / "scripts" / "run_job.sh"
POLL_S = 0.2
# What a run needs from this shell on a Ray node (whose own environment is the node's): the reproduction's settings
# and the Hugging Face ones.
FORWARDED = ("OUT", "SMOKE", "PUSH", "HUB_NAMESPACE", "PYTHON", "HF_HOME", "HF_HUB_OFFLINE", "HF_ENDPOINT",
             "HF_TOKEN", "TOKENIZERS_PARALLELISM", "OMP_NUM_THREADS")


@dataclass
class Job:
    """One run of the grid: its command, where its log is, and how it is named in messages."""

    argv: list[str]
    log: str
    name: str


def add(grid: Path, log: str, task: str, script: str, model: str, seed: str, args: list[str]) -> None:
    """Append one run to the grid file."""
    job = {"argv": ["bash", str(JOB_SCRIPT), task, script, model, seed, *args], "log": log,
           "name": f"[{task}] {model} seed {seed}"}
    with open(grid, "a", encoding="utf-8") as handle:
        handle.write(json.dumps(job, ensure_ascii=False) + "\n")


def read_grid(grid: Path) -> list[Job]:
    jobs = []
    for number, line in enumerate(grid.read_text(encoding="utf-8").splitlines(), start=1):
        try:
            jobs.append(Job(**json.loads(line)))
        except (ValueError, TypeError) as error:
            raise SystemExit(f"{grid}, line {number}: not a grid entry ({error}); write it with "
                             f"`python scripts/run_grid.py add`.") from None
    return jobs


def visible_gpus() -> list[str]:
    """The GPUs runs may be pinned to: CUDA_VISIBLE_DEVICES when set, else those torch counts (none without CUDA)."""
    given = os.environ.get("CUDA_VISIBLE_DEVICES")
    if given is not None:
        return [gpu for gpu in given.split(",") if gpu.strip() and gpu.strip() != "-1"]
    try:
        import torch

        return [str(i) for i in range(torch.cuda.device_count())]
    except ImportError:
        return []


def slots(parallel: int, gpus: list[str]) -> list[str | None]:
    """One slot per run that may go at once: a GPU each (at most `parallel`), or a single CPU slot."""
    return gpus[:max(1, parallel)] if gpus else [None]


def _stop(processes: dict) -> None:
    """Stop running jobs (their whole process groups), then wait for them."""
    for process in processes:
        try:
            os.killpg(process.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + 30
    for process in processes:
        try:
            process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    for process in processes:  # the leader is gone; its children may still be dying, or ignore SIGTERM
        _empty_group(process.pid)


def _empty_group(group: int, grace_s: float = 5.0) -> None:
    """Wait until no process of `group` is left (up to `grace_s`), then kill whatever still is, and wait (as long
    again) until it has died: SIGKILL is delivered while the process runs on, and a busy machine takes a while."""
    if _wait_for_empty_group(group, grace_s):
        return
    try:
        os.killpg(group, signal.SIGKILL)
    except ProcessLookupError:
        return
    _wait_for_empty_group(group, grace_s)


def _wait_for_empty_group(group: int, timeout_s: float) -> bool:
    """Whether every process of `group` is gone (or a zombie, dead but not yet collected) within `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while _group_alive(group):
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.05)
    return True


def _group_alive(group: int) -> bool:
    """Whether a process of `group` is still running: Linux's /proc tells zombies apart; elsewhere a zombie counts."""
    try:
        os.killpg(group, 0)
    except ProcessLookupError:
        return False
    if not os.path.isdir("/proc/self"):
        return True
    for stat in glob.glob("/proc/[0-9]*/stat"):
        try:
            with open(stat, encoding="utf-8") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[2]) == group and fields[0] != "Z":
            return True
    return False


def run_local(jobs: list[Job], parallel: int, gpus: list[str]) -> int:
    """Run the jobs, up to one per slot at once; on the first failure stop the others and name its log."""
    free = slots(parallel, gpus)
    if not gpus and parallel > 1:
        print(f"--parallel {parallel}: no GPU here, so one run at a time (runs sharing the CPU cores are slower than "
              "runs one after the other)", flush=True)
    pending = list(jobs)
    running: dict[subprocess.Popen, tuple[Job, str | None]] = {}
    while pending or running:
        while pending and free:
            job, slot = pending.pop(0), free.pop(0)
            env = dict(os.environ)
            if slot is not None:  # pinned to one GPU, run by plain python (not a multi-GPU launch)
                env.update(CUDA_VISIBLE_DEVICES=slot, LAUNCHER=env.get("PYTHON", sys.executable))
            where = f" on GPU {slot}" if slot is not None else ""
            print(f"{job.name}: started{where}", flush=True)
            running[subprocess.Popen(job.argv, env=env, start_new_session=True)] = (job, slot)
        time.sleep(POLL_S)
        for process in [p for p in running if p.poll() is not None]:
            job, slot = running.pop(process)
            free.append(slot)
            if process.returncode != 0:
                print(f"FAILED: {job.name} (exit {process.returncode}); its log: {job.log}", file=sys.stderr,
                      flush=True)
                if running or pending:
                    print(f"stopping {len(running)} running run(s); {len(pending)} not started. Run the same "
                          "command again to resume: finished runs are skipped, unfinished ones resume.",
                          file=sys.stderr, flush=True)
                _stop(running)
                return 1
    return 0


def run_ray(jobs: list[Job], parallel: int) -> int:
    """Each job one Ray task (one GPU where the cluster has GPUs); the first failure cancels the others."""
    import ray

    ray.init(address=os.environ.get("RAY_ADDRESS") or None, include_dashboard=False, log_to_driver=False)
    try:
        gpus = ray.cluster_resources().get("GPU", 0)

        forwarded = {name: os.environ[name] for name in FORWARDED if name in os.environ}
        python = os.environ.get("PYTHON", sys.executable)

        @ray.remote(num_gpus=1 if gpus else 0, num_cpus=1, max_retries=0)
        def run_job(argv: list[str]) -> tuple[int, str, str]:  # Ray sets CUDA_VISIBLE_DEVICES to the task's GPU
            done = subprocess.run(argv, env={**os.environ, **forwarded, "LAUNCHER": python}, capture_output=True,
                                  text=True, check=False)  # the training's own output goes to its run.log
            return done.returncode, done.stdout, done.stderr

        limit = max(1, parallel)
        pending, running = list(jobs), {}
        while pending or running:
            while pending and len(running) < limit:
                job = pending.pop(0)
                print(f"{job.name}: submitted to Ray", flush=True)
                running[run_job.remote(job.argv)] = job
            done, _ = ray.wait(list(running), num_returns=1)
            job = running.pop(done[0])
            try:
                code, out, err = ray.get(done[0])
            except ray.exceptions.RayError as error:
                code, detail = 1, f": {error}"
            else:
                detail = ""
                print(out, end="", flush=True)
                print(err, end="", file=sys.stderr, flush=True)
            if code != 0:
                print(f"FAILED: {job.name} (exit {code}{detail}); its log: {job.log}", file=sys.stderr, flush=True)
                for ref in running:
                    ray.cancel(ref, force=True)
                return 1
        return 0
    finally:
        ray.shutdown()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    adding = commands.add_parser("add", help="Append one run to GRID.")
    adding.add_argument("grid", type=Path)
    adding.add_argument("--log", required=True, help="The run's log file, named when it fails.")
    adding.add_argument("run", nargs=argparse.REMAINDER, help="-- TASK SCRIPT MODEL SEED ARGS...")
    running = commands.add_parser("run", help="Run every run of GRID.")
    running.add_argument("grid", type=Path)
    running.add_argument("--parallel", type=int, default=1, help="Runs at once (at most one per GPU).")
    running.add_argument("--ray", action="store_true", help="Submit each run as a Ray task (RAY_ADDRESS: the "
                         "cluster; unset: a local Ray instance).")
    args = parser.parse_args()
    if args.command == "add":
        run = args.run[1:] if args.run[:1] == ["--"] else args.run
        if len(run) < 4:
            parser.error("add needs -- TASK SCRIPT MODEL SEED [ARGS...]")
        add(args.grid, args.log, run[0], run[1], run[2], run[3], run[4:])
        return 0
    if args.parallel < 1:
        parser.error(f"--parallel must be at least 1, got {args.parallel}")
    jobs = read_grid(args.grid)
    return run_ray(jobs, args.parallel) if args.ray else run_local(jobs, args.parallel, visible_gpus())


if __name__ == "__main__":
    sys.exit(main())
