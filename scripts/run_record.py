#!/usr/bin/env python
"""What a reproduction run was made with, and whether a finished one may be skipped (used by scripts/lib.sh).

    python scripts/run_record.py check DIR -- SCRIPT MODEL SEED SMOKE ARGS...   # exit 0: skip, 1: run, 2: refuse
    python scripts/run_record.py write DIR TASK REPO SECONDS -- SCRIPT MODEL SEED SMOKE ARGS...

A finished run (DIR/run_done.json) is skipped only when its recorded settings (script, model, seed, smoke or not,
every argument that can change a number, and the SHA-256 of every data file an argument names) equal the new ones;
otherwise the run is refused with the first differences, so that a table never mixes runs made with other settings.
Which arguments can change a number is what each argument declares (bertft_utils/config/effects.py): every effect
but `output` and `secret`; an argument the script does not know counts.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
from bertft_utils.data.readers.common import file_sha256  # noqa: E402


def arguments_that_count(script: str, args: list[str]) -> dict[str, object]:
    """The arguments of `args` that can change a number, as the script's parser reads them ({flag: value}); those
    declared `output` or `secret` are left out."""
    from bertft_utils.config.arguments import ArgumentParser
    from bertft_utils.config.effects import OUTPUT, SECRET, effects_of

    spec = importlib.util.spec_from_file_location(Path(script).stem, REPO / script)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the classes are made
    spec.loader.exec_module(module)  # the script's argument classes; main() does not run
    parser = ArgumentParser(module.ARGUMENT_CLASSES)
    parsed, unknown = parser.parse_known_args(args)
    given = {token.split("=")[0].lstrip("-").replace("-", "_") for token in args if token.startswith("--")}
    given |= {name.removeprefix("no_") for name in given if name.startswith("no_")}  # --no_auto_bf16 sets auto_bf16
    counted: dict[str, object] = {f"unknown {token}": token for token in unknown if token.startswith("--")}
    for name, value in sorted(vars(parsed).items()):
        owner = next(c for c in module.ARGUMENT_CLASSES if name in {f.name for f in dataclasses.fields(c)})
        if name in given and not effects_of(owner, name) <= {OUTPUT, SECRET}:
            counted[name] = value
    return counted


def settings(script: str, model: str, seed: str, smoke: str, args: list[str]) -> dict:
    """Everything that decides what a run computes; data files by content."""
    data = {arg: file_sha256(arg) for arg in args if os.path.isfile(arg)}
    return {"script": script, "model": model, "seed": int(seed), "smoke": smoke == "1",
            "arguments": arguments_that_count(script, args), "data_sha256": data}


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
        if "args" in recorded:  # recorded before arguments declared their effects: every argument counted
            current = {**{k: v for k, v in current.items() if k != "arguments"}, "args": args}
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
