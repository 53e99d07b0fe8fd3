"""The word embeddings' gradient kept in one buffer from step to step while training on a CPU.

torch's dense embedding backward allocates a vocabulary x hidden matrix of zeros every step (47 MB for MiniLM's
30,522 x 384 in fp32) to add a few hundred rows into: memory traffic, and page faults where the pages are fresh
(results/train_throughput_bf16_paired.md measures the difference). Here the gradient goes into a buffer kept for the
whole training: only the rows the previous step touched are zeroed, then this step's rows are added. The gradient is
the same matrix (rows not looked up are 0, the padding row too); the optimizer, clipping and weight decay see a
dense gradient as before.

Used only in one process on a CPU (a distributed run's gradient hooks must see the gradient arrive through autograd)
and only for a plain `nn.Embedding` whose weight no other module shares (a tied output layer adds its own gradient).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch
from torch import nn

MERGE_AFTER = 64  # lists of touched rows merged into one beyond this many


class _KeptGradient:
    """The buffer of one embedding's gradient and the rows written into it since it was last handed out."""

    def __init__(self, embedding: nn.Embedding):
        self.embedding = embedding
        self.buffer: torch.Tensor | None = None
        self.touched: list[torch.Tensor] = []

    def add(self, ids: torch.Tensor, grad: torch.Tensor) -> None:
        weight = self.embedding.weight
        grad = grad.reshape(-1, grad.shape[-1]).to(weight.dtype)
        if weight.grad is None:  # a new step (the optimizer set the gradient to None): reuse the buffer
            if self.buffer is None or self.buffer.shape != weight.shape or self.buffer.dtype != weight.dtype:
                self.buffer = torch.zeros_like(weight)
            else:
                for rows in self.touched:
                    self.buffer.index_fill_(0, rows, 0)
            self.touched = []
            weight.grad = self.buffer
        elif weight.grad is not self.buffer:  # someone else's gradient: add into it, leave our buffer alone
            weight.grad.index_add_(0, ids, grad)
            self._clear_padding(weight.grad)
            return
        self.buffer.index_add_(0, ids, grad)  # gradient accumulation adds the next micro-batch's rows
        self.touched.append(ids)
        if len(self.touched) > MERGE_AFTER:  # the gradient zeroed in place, never set to None: keep the list short
            self.touched = [torch.cat(self.touched).unique()]
        self._clear_padding(self.buffer)

    def _clear_padding(self, gradient: torch.Tensor) -> None:
        if self.embedding.padding_idx is not None:
            gradient[self.embedding.padding_idx] = 0


class _Lookup(torch.autograd.Function):
    """F.embedding whose backward writes the weight's gradient into the kept buffer instead of returning it."""

    @staticmethod
    def forward(ctx, ids: torch.Tensor, weight: torch.Tensor, kept: _KeptGradient) -> torch.Tensor:
        ctx.save_for_backward(ids)
        ctx.kept = kept
        return nn.functional.embedding(ids, weight, kept.embedding.padding_idx)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        (ids,) = ctx.saved_tensors
        ctx.kept.add(ids.reshape(-1).long(), grad)  # index_fill_ takes int64 rows only
        return None, None, None


def keeps_gradient(embedding: nn.Module, model: nn.Module) -> bool:
    """Whether `embedding` can keep its gradient: a plain dense nn.Embedding that trains, its weight not tied."""
    if type(embedding) is not nn.Embedding or not embedding.weight.requires_grad:
        return False
    if embedding.sparse or embedding.max_norm is not None or embedding.scale_grad_by_freq:
        return False
    output = model.get_output_embeddings() if hasattr(model, "get_output_embeddings") else None
    return output is None or getattr(output, "weight", None) is not embedding.weight


@contextmanager
def kept_embedding_gradient(model: nn.Module) -> Iterator[bool]:
    """Inside the block the model's input embeddings keep their gradient buffer (yields whether they could)."""
    embedding = model.get_input_embeddings()
    if not keeps_gradient(embedding, model):
        yield False
        return
    kept = _KeptGradient(embedding)
    embedding.forward = lambda ids: (_Lookup.apply(ids, embedding.weight, kept) if torch.is_grad_enabled()
                                     else nn.functional.embedding(ids, embedding.weight, embedding.padding_idx))
    try:
        yield True
    finally:
        del embedding.forward  # the class's forward again
