"""scripts/run_grid.py: a reproduction's runs at once, one per GPU (or one at a time on CPU), or as Ray tasks; the first
failure stops the others and names its log. Jobs here are small shell commands that record when and where they ran."""

from __future__ import annotations

import importlib.util
import json
import sys
import time
from pathlib import Path

import pytest
from conftest import REPO

spec = importlib.util.spec_from_file_location("run_grid", REPO / "scripts" / "run_grid.py")
run_grid = importlib.util.module_from_spec(spec)
sys.modules["run_grid"] = run_grid
spec.loader.exec_module(run_grid)


def recording_job(folder, name: str, seconds: float = 0.6, exit_code: int = 0):
    """A job that writes its GPU and its start/end times to FOLDER/NAME.json (exit_code: fail without writing)."""
    script = (f'echo $$ > {folder}/{name}.pid; start=$(date +%s.%N); sleep {seconds}; '
              + (f"exit {exit_code}" if exit_code else
                 f'printf \'{{"gpu": "%s", "start": %s, "end": %s}}\' "${{CUDA_VISIBLE_DEVICES:-}}" "$start" '
                 f'"$(date +%s.%N)" > {folder}/{name}.json'))
    return run_grid.Job(["sh", "-c", script], str(folder / f"{name}.log"), f"[test] {name}")


def records(folder) -> dict[str, dict]:
    return {path.stem: json.loads(path.read_text()) for path in folder.glob("*.json")}


def living_in_group(group: int) -> list[int]:
    """Processes of a process group that are not zombies (Linux /proc)."""
    living = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == group and fields[0] != "Z":
            living.append(int(stat.parent.name))
    return living


def most_at_once(runs: list[dict]) -> int:
    """The largest number of runs going at the same instant (a sweep over starts and ends; an end before a start at
    the same time)."""
    events = sorted([(run["start"], 1) for run in runs] + [(run["end"], -1) for run in runs])
    going = most = 0
    for _, change in events:
        going += change
        most = max(most, going)
    return most


def test_one_run_per_gpu_at_once_each_pinned_to_its_own(tmp_path):
    jobs = [recording_job(tmp_path, f"run{i}") for i in range(5)]
    assert run_grid.run_local(jobs, parallel=2, gpus=["0", "1", "2"]) == 0
    runs = records(tmp_path)
    assert len(runs) == 5 and {run["gpu"] for run in runs.values()} == {"0", "1"}
    assert most_at_once(list(runs.values())) == 2
    for run in runs.values():  # two runs at the same time never share a GPU
        assert not any(o is not run and o["gpu"] == run["gpu"] and o["start"] < run["end"] and run["start"] < o["end"]
                       for o in runs.values())


def test_without_a_gpu_runs_go_one_at_a_time(tmp_path, capsys):
    jobs = [recording_job(tmp_path, f"run{i}", 0.3) for i in range(3)]
    assert run_grid.run_local(jobs, parallel=4, gpus=[]) == 0
    runs = records(tmp_path)
    assert len(runs) == 3 and most_at_once(list(runs.values())) == 1 and {r["gpu"] for r in runs.values()} == {""}
    assert "no GPU here, so one run at a time" in capsys.readouterr().out


def test_the_first_failure_stops_the_others_and_names_its_log(tmp_path, capsys):
    jobs = [recording_job(tmp_path, "fails", 0.2, exit_code=3), recording_job(tmp_path, "long", 30),
            recording_job(tmp_path, "never", 0.1)]
    started = time.monotonic()
    assert run_grid.run_local(jobs, parallel=2, gpus=["0", "1"]) == 1
    assert time.monotonic() - started < 20  # the 30-second run was stopped, not waited for
    assert records(tmp_path) == {}  # the stopped run never finished; the third never started
    assert living_in_group(int((tmp_path / "long.pid").read_text())) == []  # nothing of the stopped run is left
    assert not (tmp_path / "never.pid").exists()
    err = capsys.readouterr().err
    assert f"FAILED: [test] fails (exit 3); its log: {tmp_path / 'fails.log'}" in err
    assert "stopping 1 running run(s); 1 not started" in err


def test_grid_entries_round_trip_and_a_bad_line_is_named(tmp_path):
    grid = tmp_path / "grid.jsonl"
    run_grid.add(grid, "/out/ner/bert/seed42/run.log", "ner", "run_ner.py", "org/bert", "42", ["--do_train"])
    [job] = run_grid.read_grid(grid)
    assert job.argv == ["bash", str(REPO / "scripts" / "run_job.sh"), "ner", "run_ner.py", "org/bert", "42",
                        "--do_train"]
    assert (job.name, job.log) == ("[ner] org/bert seed 42", "/out/ner/bert/seed42/run.log")
    grid.write_text(grid.read_text() + "not json\n")
    with pytest.raises(SystemExit, match=r"grid.jsonl, line 2: not a grid entry"):
        run_grid.read_grid(grid)


def test_visible_gpus_follow_cuda_visible_devices(monkeypatch):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "2,3")
    assert run_grid.visible_gpus() == ["2", "3"]
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
    assert run_grid.visible_gpus() == []
    assert run_grid.slots(4, ["2", "3"]) == ["2", "3"] and run_grid.slots(1, ["2", "3"]) == ["2"]
    assert run_grid.slots(4, []) == [None]


@pytest.mark.slow
def test_ray_runs_every_job_on_a_local_cpu_instance_and_stops_at_a_failure(tmp_path, monkeypatch, capsys):
    pytest.importorskip("ray")
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    jobs = [recording_job(tmp_path, f"run{i}", 0.2) for i in range(3)]
    assert run_grid.run_ray(jobs, parallel=2) == 0
    assert len(records(tmp_path)) == 3
    failing = [recording_job(tmp_path / "x", "fails", 0.1, exit_code=4)]
    (tmp_path / "x").mkdir()
    assert run_grid.run_ray(failing, parallel=2) == 1
    assert f"FAILED: [test] fails (exit 4); its log: {tmp_path / 'x' / 'fails.log'}" in capsys.readouterr().err


def test_a_stopped_run_leaves_no_process_even_one_that_ignores_sigterm(tmp_path):
    """The stop waits for the whole process group of a stopped run (its leader, a shell, dies at SIGTERM; its child
    ignores it), and kills what is left after a grace."""
    ignoring = run_grid.Job(["sh", "-c", f"echo $$ > {tmp_path}/stubborn.pid; (trap '' TERM; exec sleep 60) & wait"],
                            str(tmp_path / "stubborn.log"), "[test] stubborn")
    jobs = [recording_job(tmp_path, "fails", 0.5, exit_code=3), ignoring]
    assert run_grid.run_local(jobs, parallel=2, gpus=["0", "1"]) == 1
    assert living_in_group(int((tmp_path / "stubborn.pid").read_text())) == []
