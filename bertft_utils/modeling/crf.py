"""A linear-chain CRF over a token classifier's scores (`run_ner.py --decoding crf`).

Our own few lines of torch rather than pytorch-crf: its last release is from 2019, and it scores left-aligned,
contiguous sequences, while our labelled positions are scattered (-100 at [CLS]/[SEP], continuation sub-tokens and
window overlaps). Here the labelled positions of each window are gathered to the left first.

The CRF is a submodule of the transformers model (`model.crf`), so the Trainer's optimizer, checkpoints and resumption
carry it, and `save_pretrained` stores `crf.*` next to the encoder's weights. Its loss replaces the classifier's
cross-entropy inside the model's forward call (a forward hook), where DistributedDataParallel expects every parameter
to be used. Plain transformers loads such a folder
as an ordinary token classifier (it reports the `crf.*` keys as unused), so `pipeline` gives the per-token argmax;
`crf_from_checkpoint` reads the CRF back for our scripts.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from bertft_utils.errors import UsageError

# The score of a transition the tag scheme forbids, at initialisation: exp(-1e4) is 0 in any precision.
FORBIDDEN = -1e4
WEIGHT_PREFIX = "crf."
# Training inputs: per window, whether its labelled positions start and end the sentence ([starts, ends], 0/1).
# Start and end scores belong to a sentence's real edges: a continuation window may start inside an entity.
SENTENCE_EDGES = "sentence_edges"


class LinearChainCrf(nn.Module):
    """Start, transition and end scores over `num_labels` tags; trained with the CRF's negative log-likelihood."""

    def __init__(self, num_labels: int):
        super().__init__()
        self.start = nn.Parameter(torch.zeros(num_labels))
        self.transitions = nn.Parameter(torch.zeros(num_labels, num_labels))  # [previous, next]
        self.end = nn.Parameter(torch.zeros(num_labels))

    def forbid(self, start: np.ndarray, transition: np.ndarray, end: np.ndarray) -> None:
        """Initialise the moves the tag scheme forbids (boolean 'allowed' arrays, see decoding.allowed_transitions)
        to FORBIDDEN, the others to 0."""
        with torch.no_grad():
            for parameter, allowed in ((self.start, start), (self.transitions, transition), (self.end, end)):
                parameter.copy_(torch.where(torch.as_tensor(allowed), 0.0, FORBIDDEN))

    def negative_log_likelihood(self, emissions: torch.Tensor, labels: torch.Tensor,
                                edges: torch.Tensor | None = None) -> tuple[torch.Tensor, int]:
        """(Sum over sequences of -log p(gold tags | emissions), number of labelled positions).

        emissions [batch, positions, labels]; labels [batch, positions] with -100 where nothing is scored. Each row's
        labelled positions form one tag sequence, in order; rows without any are skipped. `edges` [batch, 2]: whether
        the row's sequence starts / ends its sentence (start and end scores apply only there; default: both)."""
        emissions, tags, mask = gather_labelled(emissions.float(), labels)
        if edges is None:
            edges = torch.ones(len(tags), 2, device=tags.device)
        keep = mask[:, 0]
        emissions, tags, mask, edges = emissions[keep], tags[keep], mask[keep], edges[keep].float()
        if not len(tags):
            return emissions.sum() * 0.0, 0
        starts, ends = edges[:, 0], edges[:, 1]
        partition = self.log_partition(emissions, mask, starts, ends)
        return (partition - self.path_score(emissions, tags, mask, starts, ends)).sum(), int(mask.sum())

    def path_score(self, emissions: torch.Tensor, tags: torch.Tensor, mask: torch.Tensor,
                   starts: torch.Tensor | None = None, ends: torch.Tensor | None = None) -> torch.Tensor:
        """Score of the given tag sequences [batch] (mask: prefix of valid positions, at least one; starts/ends: 1
        where the start/end score applies, default everywhere)."""
        starts = torch.ones(len(tags), device=tags.device) if starts is None else starts
        ends = torch.ones(len(tags), device=tags.device) if ends is None else ends
        weights = mask.float()
        score = starts * self.start[tags[:, 0]] + (emissions.gather(2, tags.unsqueeze(2)).squeeze(2) * weights).sum(1)
        score = score + (self.transitions[tags[:, :-1], tags[:, 1:]] * weights[:, 1:]).sum(1)
        last = tags.gather(1, (mask.sum(1, keepdim=True) - 1)).squeeze(1)
        return score + ends * self.end[last]

    def log_partition(self, emissions: torch.Tensor, mask: torch.Tensor, starts: torch.Tensor | None = None,
                      ends: torch.Tensor | None = None) -> torch.Tensor:
        """log of the sum over all tag sequences of exp(score) [batch] (the forward algorithm)."""
        starts = torch.ones(len(mask), device=mask.device) if starts is None else starts
        ends = torch.ones(len(mask), device=mask.device) if ends is None else ends
        alpha = starts.unsqueeze(1) * self.start + emissions[:, 0]
        for t in range(1, emissions.shape[1]):
            step = torch.logsumexp(alpha.unsqueeze(2) + self.transitions, dim=1) + emissions[:, t]
            alpha = torch.where(mask[:, t : t + 1], step, alpha)
        return torch.logsumexp(alpha + ends.unsqueeze(1) * self.end, dim=1)

    def scores(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(start, transitions, end) as float arrays, for decoding.viterbi."""
        return tuple(p.detach().float().cpu().numpy() for p in (self.start, self.transitions, self.end))


def gather_labelled(emissions: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Move each row's labelled positions (labels != -100) to the left, in order: (emissions, tags, prefix mask)."""
    labelled = labels != -100
    order = torch.argsort((~labelled).to(torch.int8), dim=1, stable=True)
    mask = torch.arange(labels.shape[1], device=labels.device) < labelled.sum(1, keepdim=True)
    tags = torch.where(mask, labels.gather(1, order), 0)
    gathered = emissions.gather(1, order.unsqueeze(2).expand(-1, -1, emissions.shape[2]))
    return gathered, tags, mask


def take_sentence_edges(model, args, kwargs):
    """Forward pre-hook: the windows' sentence edges are the CRF's input, not the encoder's: kept for the loss."""
    model.crf.pending_edges = kwargs.pop(SENTENCE_EDGES, None)
    return args, kwargs


def crf_loss_hook(model, args, kwargs, output):
    """Forward hook: with labels, the output's loss is the CRF's negative log-likelihood per labelled token (the
    scale of the cross-entropy it replaces; summed over `num_items_in_batch` tokens when the Trainer passes it)."""
    labels = kwargs.get("labels")
    edges, model.crf.pending_edges = getattr(model.crf, "pending_edges", None), None
    if labels is None or not hasattr(output, "logits"):
        return output
    total, count = model.crf.negative_log_likelihood(output.logits, labels, edges)
    items = kwargs.get("num_items_in_batch")
    output.loss = total / (items if items else max(count, 1))
    return output


def _install(model, crf: LinearChainCrf) -> LinearChainCrf:
    model.crf = crf.to(next(model.parameters()).device)
    model.register_forward_pre_hook(take_sentence_edges, with_kwargs=True)
    model.register_forward_hook(crf_loss_hook, with_kwargs=True)
    return model.crf


def attach_crf(model, num_labels: int, allowed: tuple[np.ndarray, np.ndarray, np.ndarray]) -> LinearChainCrf:
    """A new CRF as `model.crf`, the scheme's forbidden moves initialised to FORBIDDEN."""
    crf = LinearChainCrf(num_labels)
    crf.forbid(*allowed)
    return _install(model, crf)


def crf_from_checkpoint(weights_files: list[str], model, num_labels: int) -> LinearChainCrf | None:
    """`model.crf` with the `crf.*` weights stored in these safetensors files; None when they hold none."""
    from safetensors import safe_open

    tensors = {}
    for path in weights_files:
        with safe_open(path, framework="pt") as handle:
            for key in handle.keys():
                if key.startswith(WEIGHT_PREFIX):
                    tensors[key.removeprefix(WEIGHT_PREFIX)] = handle.get_tensor(key)
    if not tensors:
        return None
    crf = LinearChainCrf(num_labels)
    if tuple(tensors.get("transitions", torch.empty(0)).shape) != (num_labels, num_labels):
        raise UsageError(f"The CRF stored with the model has transitions of shape "
                         f"{tuple(tensors.get('transitions', torch.empty(0)).shape)}, but the model has {num_labels} "
                         "labels: the folder mixes two models.")
    crf.load_state_dict(tensors)
    return _install(model, crf)

