#!/usr/bin/env python
"""What a reproduction run was made with, and whether a finished one may be skipped (used by scripts/lib.sh).

    python scripts/run_record.py check DIR -- SCRIPT MODEL SEED SMOKE ARGS...   # exit 0: skip, 1: run, 2: refuse
    python scripts/run_record.py write DIR TASK REPO SECONDS -- SCRIPT MODEL SEED SMOKE ARGS...

A finished run (DIR/run_done.json) is skipped only when its recorded settings (script, model, seed, smoke or not,
every argument, and the SHA-256 of every data file an argument names) equal the new ones; otherwise the run is
refused with the first differences, so that a table never mixes runs made with other settings.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from pathlib import Path


def file_sha256(path: str) -> str:
    """As bertft_utils.data.readers.file_sha256; not imported from there: the package import (torch, transformers) costs
    seconds, twice per run."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def settings(script: str, model: str, seed: str, smoke: str, args: list[str]) -> dict:
    """Everything that decides what a run computes; data files by content."""
    data = {arg: file_sha256(arg) for arg in args if os.path.isfile(arg)}
    return {"script": script, "model": model, "seed": int(seed), "smoke": smoke == "1", "args": args,
            "data_sha256": data}


def differences(old: dict, new: dict) -> list[str]:
    return [f"{key}: {old.get(key)!r} then, {new.get(key)!r} now" for key in sorted(set(old) | set(new))
            if old.get(key) != new.get(key)]


def main(argv: list[str]) -> int:
    command, folder = argv[0], Path(argv[1])
    split = argv.index("--")
    extra, (script, model, seed, smoke, *args) = argv[2:split], argv[split + 1:]
    current = settings(script, model, seed, smoke, args)
    done = folder / "run_done.json"
    if command == "check":
        if not done.is_file():
            return 1
        recorded = json.loads(done.read_text(encoding="utf-8")).get("settings") or {}
        changed = differences(recorded, current)
        if not changed:
            return 0
        print(f"{folder} holds a finished run made with other settings ({'; '.join(changed[:5])}). Use another OUT "
              f"folder, or delete {folder} to redo it.", file=sys.stderr)
        return 2
    task, repo, seconds = extra
    payload = {"task": task, "model": model, "seed": int(seed), "hub_repo": repo or None,
               "wall_seconds": int(seconds), "smoke": smoke == "1", "settings": current}
    temporary = done.with_suffix(".json.tmp")
    temporary.write_text(json.dumps(payload, indent=2), encoding="utf-8")
    temporary.replace(done)  # a script killed here leaves no half-written record that reads as finished
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
