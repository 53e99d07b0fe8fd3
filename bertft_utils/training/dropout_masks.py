"""Dropout masks drawn as 16-bit random integers while training on a CPU, where that is measured faster.

On a CPU, torch draws dropout's mask with `bernoulli_`: Intel CPUs get MKL's vectorised generator, every other CPU a
serial loop that draws one random double per element (MiniLM's bf16 training on an AMD EPYC took longer with torch's
masks: results/train_throughput_bf16_paired.md). Four 16-bit draws fit in one 64-bit random number, and the
comparison and scaling that follow are vectorised. The mask then keeps each element with probability 1 - p, p
rounded to a multiple of 1/65536 (0.1 -> 0.100006), and scales by the inverse of that exact keep rate: the same
distribution as torch's up to the rounding, but another stream of random numbers for the same seed.

Which is faster is measured, never guessed from the CPU: torch's and ours on a tensor of the training batch's hidden
states, interleaved; the decision is remembered per CPU model, software, threads and model shape in the user's cache
folder (so a seed gives the same run again on that machine). Only `nn.Dropout` modules are swapped (hidden states,
embeddings, classifier); dropout inside the attention function stays torch's. Outside training (evaluation, saving,
ONNX export) the modules are plain `nn.Dropout` again.
"""

from __future__ import annotations

import logging
import statistics
import time
from collections.abc import Iterator
from contextlib import contextmanager

import torch
from torch import nn

from bertft_utils.runtime.machine_cache import cache_path, machine_key, remembered

logger = logging.getLogger(__name__)

CACHE_NAME = "dropout_masks.json"
LEVELS = 1 << 16  # values of a 16-bit draw
CLEARLY_FASTER = 1.2  # ours must beat torch's by this factor to replace it (torch's is Hugging Face's behaviour)
ROUNDS = 7


class SixteenBitDropout(nn.Dropout):
    """`nn.Dropout` whose training mask comes from 16-bit random integers (four per 64-bit draw of torch's
    generator); p is rounded to a multiple of 1/65536. Other devices and p that rounds to 0 or 1 use torch's."""

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        dropped = round(self.p * LEVELS)
        if not self.training or input.device.type != "cpu" or dropped in (0, LEVELS):
            return super().forward(input)
        return input * sixteen_bit_mask(input, dropped)


def sixteen_bit_mask(like: torch.Tensor, dropped: int) -> torch.Tensor:
    """A mask shaped and typed like `like`: 0 with probability dropped/65536, else 65536/(65536 - dropped)."""
    count = like.numel()
    draws = torch.empty((count + 3) // 4, dtype=torch.int64, device=like.device).random_(-(1 << 63), None)
    levels = draws.view(torch.int16)[:count].view(like.shape)  # uniform over -32768..32767
    keep = torch.tensor(LEVELS / (LEVELS - dropped), dtype=like.dtype, device=like.device)
    return torch.where(levels >= dropped - LEVELS // 2, keep, torch.zeros((), dtype=like.dtype, device=like.device))


def time_masks(shape: tuple[int, ...], dtype: torch.dtype, p: float, rounds: int = ROUNDS) -> dict:
    """Median seconds of torch's dropout and of ours on a tensor of `shape`, run interleaved (one warm-up each)."""
    ours, theirs = SixteenBitDropout(p), nn.Dropout(p)
    times: dict[str, list[float]] = {"torch_s": [], "16bit_s": []}
    with torch.random.fork_rng(devices=[]), torch.no_grad():  # the run's random numbers stay as if not measured
        hidden = torch.randn(shape).to(dtype)
        for index in range(rounds + 1):
            for name, module in (("torch_s", theirs), ("16bit_s", ours)):
                start = time.perf_counter()
                module(hidden)
                if index:
                    times[name].append(time.perf_counter() - start)
    return {name: statistics.median(values) for name, values in times.items()}


def dropout_probability(model: nn.Module) -> float | None:
    """The p of the model's `nn.Dropout` modules (the largest when they differ), None when it has none above 0."""
    rates = [module.p for module in model.modules() if type(module) is nn.Dropout and module.p > 0]
    return max(rates) if rates else None


def choose_masks(model: nn.Module, batch: dict, bf16: bool, choice: str = "auto", device: str = "cpu") -> dict:
    """How this run draws dropout masks: {"masks": "torch" | "16bit", "why": ...}. `choice` is --dropout_masks,
    `device` the type of the device that trains; "auto" measures on a CPU (once per machine key, remembered)."""
    p = dropout_probability(model)
    if p is None:
        return {"masks": "torch", "why": "no dropout in the model"}
    if device != "cpu":
        return {"masks": "torch", "why": f"training on {device}, not a CPU"}
    if choice != "auto":
        return {"masks": choice, "why": "--dropout_masks"}
    input_ids = batch["input_ids"]
    shape = (*input_ids.shape, model.config.hidden_size)
    dtype = torch.bfloat16 if bf16 else torch.float32

    def measure() -> dict:
        timing = time_masks(shape, dtype, p)
        masks = "16bit" if timing["torch_s"] > CLEARLY_FASTER * timing["16bit_s"] else "torch"
        logger.info("Dropout masks: %s, measured here on the batch's hidden states %s (%s): torch's %.5f s, 16-bit "
                    "%.5f s. --dropout_masks torch or 16bit forces a choice.", masks, list(shape), dtype,
                    timing["torch_s"], timing["16bit_s"])
        return {**timing, "masks": masks}

    key = machine_key(model, f"torch {torch.__version__}", f"dropout {p} | {list(shape)} {dtype}")
    entry, cached = remembered(CACHE_NAME, key, measure)
    if cached:
        logger.info("Dropout masks: %s (measured on %s on this machine: torch's %.5f s, 16-bit %.5f s; cached in "
                    "%s).", entry["masks"], entry["date"], entry["torch_s"], entry["16bit_s"], cache_path(CACHE_NAME))
    return {"masks": entry["masks"], "why": f"measured: torch's {entry['torch_s']:.5f} s, 16-bit "
                                            f"{entry['16bit_s']:.5f} s per mask of {list(shape)} {dtype}"}


@contextmanager
def sixteen_bit_dropout(model: nn.Module) -> Iterator[None]:
    """The model's `nn.Dropout` modules draw 16-bit masks inside the block, and are plain `nn.Dropout` again after."""
    swapped = [module for module in model.modules() if type(module) is nn.Dropout]
    for module in swapped:
        module.__class__ = SixteenBitDropout
    try:
        yield
    finally:
        for module in swapped:
            module.__class__ = nn.Dropout
