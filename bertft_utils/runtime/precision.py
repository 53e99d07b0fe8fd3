"""fp32 or bf16 on a CPU, chosen by timing the model's own work on this machine, never from CPU flags.

The same flags mean very different things from one CPU to the next: bf16 matmuls run faster than fp32 on some CPUs,
slower on others, and far slower where bf16 is emulated (results/*_speed.md record what each machine measured). So
before the Trainer is built, one typical batch goes forward (and backward, when training) in fp32 and under bf16
autocast, the faster wins, both figures are logged, and the decision is remembered per CPU model, torch version,
thread count and model shape in the user's cache folder (`$BERTFT_CACHE`, default `~/.cache/bertft`). `--bf16` /
`--no_auto_bf16` force a choice; a GPU keeps the usual rule (the user says).
"""

from __future__ import annotations

import logging
import time

import torch

from bertft_utils.runtime.machine_cache import cache_path, machine_key, remembered

logger = logging.getLogger(__name__)

TINY_SLOWDOWN = 3.0  # bf16 this much slower on a tiny batch already: no need to time a full one
CACHE_NAME = "precision.json"


def decision_key(model, batch: dict, training: bool) -> str:
    """What the decision depends on: the machine, the software, the model's shape and the batch's."""
    return machine_key(model, f"torch {torch.__version__}",
                       f"batch size {len(batch['input_ids'])} | {'train' if training else 'predict'}")


def _step_seconds(model, batch: dict, bf16: bool, training: bool, repeats: int) -> float:
    """Median seconds of one forward (+ backward) of `batch` over `repeats`, after one untimed warm-up."""
    times = []
    for index in range(repeats + 1):
        start = time.perf_counter()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16), torch.set_grad_enabled(training):
            output = model(**batch)
        if training:
            output.loss.backward()
        if index:
            times.append(time.perf_counter() - start)
    model.zero_grad(set_to_none=True)
    return sorted(times)[len(times) // 2]


def time_precisions(model, batch: dict, training: bool, repeats: int = 1) -> dict:
    """Seconds per step in fp32 and bf16. A tiny slice of the batch goes first: where bf16 is emulated (hundreds
    of times slower) the full batch is never run in bf16. RNG state and the model's mode are restored afterwards."""
    tokens = batch["input_ids"].shape  # per-token tensors are cut to 16 tokens; others (multi-label labels) kept whole
    tiny = {k: v[:1, :16] if v.shape == tokens else v[:1] for k, v in batch.items()}
    was_training = model.training
    model.train(training)
    try:
        with torch.random.fork_rng(devices=[]):
            tiny32 = _step_seconds(model, tiny, False, training, 3)
            tiny16 = _step_seconds(model, tiny, True, training, 3)
            if tiny16 > TINY_SLOWDOWN * tiny32:
                return {"fp32_s": tiny32, "bf16_s": tiny16, "batch": "tiny (1x16)"}
            return {"fp32_s": _step_seconds(model, batch, False, training, repeats),
                    "bf16_s": _step_seconds(model, batch, True, training, repeats), "batch": "typical"}
    finally:
        model.train(was_training)


def choose_precision(model, batch: dict, training: bool) -> bool:
    """True for bf16: the faster on this machine, measured once per key and remembered in the cache file."""

    def measure() -> dict:
        timing = time_precisions(model, batch, training)
        choice = "bf16" if timing["bf16_s"] < timing["fp32_s"] else "fp32"
        logger.info("Precision: %s, measured here on a %s batch: fp32 %.4f s, bf16 %.4f s per %s step (bf16/fp32 = "
                    "%.2f). --bf16 or --no_auto_bf16 force a choice.", choice, timing["batch"], timing["fp32_s"],
                    timing["bf16_s"], "training" if training else "prediction", timing["bf16_s"] / timing["fp32_s"])
        return {**timing, "choice": choice}

    entry, cached = remembered(CACHE_NAME, decision_key(model, batch, training), measure)
    if cached:
        logger.info("Precision: %s (measured on %s on this machine: fp32 %.4f s, bf16 %.4f s per step; cached in %s).",
                    entry["choice"], entry["date"], entry["fp32_s"], entry["bf16_s"], cache_path(CACHE_NAME))
    return entry["choice"] == "bf16"


def precision_is_measured(training_args) -> bool:
    """Measure unless the user chose (--bf16/--fp16/--no_auto_bf16) or an accelerator is used (the usual rule)."""
    return bool(training_args.auto_bf16 and training_args.use_cpu and not (training_args.bf16 or training_args.fp16)
                and training_args.process_index == 0 and training_args.world_size == 1)


def apply_precision(training_args, bf16: bool) -> None:
    """Set the precision after TrainingArguments.__post_init__ (which derives `mixed_precision` from the flags)."""
    training_args.bf16 = bf16
    training_args.mixed_precision = "bf16" if bf16 else "no"
