"""Decisions measured on this machine (precision, ONNX Runtime graph settings), remembered in the user's cache folder
(`$BERTFT_CACHE`, default `~/.cache/bertft`), one JSON file per kind of decision, keyed by what they depend on."""

from __future__ import annotations

import json
import logging
import os
import platform
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path

logger = logging.getLogger(__name__)

# CPU features that decide how fast fp32 and bf16 matmuls run.
MATMUL_FLAGS = ("avx2", "fma", "avx512f", "avx512_bf16", "amx_bf16", "amx_tile", "asimd", "sve", "bf16")


def cpu_model(cpuinfo: str = "/proc/cpuinfo") -> str:
    """The CPU as precisely as /proc/cpuinfo says: name, family/model/stepping and its matmul flags.

    The name alone is not enough: cloud CPUs often report only "AMD EPYC" for generations whose bf16 speed differs
    by 100x, and a home directory (with our cache) may be shared by several machines.
    """
    fields: dict[str, str] = {}
    if os.path.exists(cpuinfo):
        with open(cpuinfo, encoding="utf-8", errors="replace") as handle:
            for line in handle:
                if not line.strip():
                    break  # the first processor's block describes the CPU
                name, _, value = line.partition(":")
                fields.setdefault(name.strip(), value.strip())
    name = fields.get("model name") or platform.processor() or platform.machine()
    ids = "/".join(fields[k] for k in ("cpu family", "model", "stepping") if k in fields)
    flags = set((fields.get("flags") or fields.get("Features") or "").split())
    present = ",".join(flag for flag in MATMUL_FLAGS if flag in flags)
    return " ".join(part for part in (name, f"(family/model/stepping {ids})" if ids else "",
                                      f"[{present}]" if flags else "") if part)


def machine_key(model, software: str, workload: str) -> str:
    """The key of a measured decision: this CPU, the software that runs the model (`torch 2.x`, `onnxruntime 1.x`),
    the threads, the model's shape, and the `workload` measured (batch shape, train or predict, graph)."""
    import torch

    config = model.config
    return (f"{cpu_model()} | {software} | {torch.get_num_threads()} threads | {config.model_type} "
            f"hidden {getattr(config, 'hidden_size', '?')} layers {getattr(config, 'num_hidden_layers', '?')} | "
            f"{workload}")


def cache_path(name: str) -> Path:
    return Path(os.environ.get("BERTFT_CACHE", Path.home() / ".cache" / "bertft")) / name


def remembered(name: str, key: str, measure: Callable[[], dict]) -> tuple[dict, bool]:
    """The entry for `key` in the cache file `name`, measured by `measure()` (and stored, dated) when missing.
    Returns it and whether it came from the cache. A cache that cannot be read or written only costs a new
    measurement next time."""
    path = cache_path(name)
    try:
        entries = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    except (OSError, ValueError):
        entries = {}
    if key in entries:
        return entries[key], True
    entry = {**measure(), "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")}
    entries[key] = entry
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(entries, indent=1), encoding="utf-8")
        os.replace(tmp, path)
    except OSError as error:
        logger.warning("Could not remember the measurement in %s (%s): it is measured again next run.", path, error)
    return entry, False
