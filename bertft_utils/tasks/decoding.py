"""How per-word label scores become tags: `argmax` (each word on its own), `viterbi` (the best tag sequence that
the tag scheme allows: no `I-X` after `O` or another type, BIOES/BMES rules, with no new parameters) or `crf` (the
same search with a trained CRF's transition scores added, see modeling/crf.py).

Our own few lines rather than a library: pytorch-crf's `viterbi_decode` needs its own CRF module, and we decode
a plain token classifier's scores under fixed, hard constraints too.
"""

from __future__ import annotations

import numpy as np

from bertft_utils.data.tags import split_tag

DECODINGS = ("argmax", "viterbi", "crf")


def allowed_transitions(label_list: list[str], scheme: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(start[C], transition[C, C], end[C]) booleans: which tag may open a sentence, follow another, close it."""
    parts = [split_tag(label) for label in label_list]
    size = len(label_list)
    start, end = np.ones(size, dtype=bool), np.ones(size, dtype=bool)
    transition = np.ones((size, size), dtype=bool)
    continuation = ("I", "M", "E") if scheme == "IOBES" else ("I",)
    for j, (prefix, kind) in enumerate(parts):
        if scheme == "IOBES":
            start[j] = prefix not in continuation
            end[j] = prefix not in ("B", "I", "M")
        elif scheme == "IOB2":
            start[j] = prefix != "I"
        elif scheme == "IOB1":
            start[j] = prefix != "B"
        for i, (before, before_kind) in enumerate(parts):
            open_entity = before in ("B", "I", "M") and before_kind == kind
            if scheme == "IOBES":
                if prefix in continuation:
                    transition[i, j] = open_entity
                else:  # O, B-, S- may only follow a closed entity
                    transition[i, j] = before not in ("B", "I", "M")
            elif scheme == "IOB2" and prefix == "I":
                transition[i, j] = open_entity
            elif scheme == "IOB1" and prefix == "B":
                transition[i, j] = before in ("B", "I") and before_kind == kind
    return start, transition, end


def viterbi(scores: np.ndarray, start: np.ndarray, transition: np.ndarray, end: np.ndarray) -> list[int]:
    """The label ids of the highest-scoring allowed sequence for `scores` [words, labels].

    start [labels], transition [previous, next] and end [labels] are either booleans (allowed or not: the score is
    the sum of the words' scores) or additive scores (-inf where not allowed: a CRF's, see `crf_rules`).
    Falls back to the per-word argmax when no sequence is allowed (a label set without `O`, for instance)."""
    if len(scores) == 0:
        return []
    start, transition, end = (np.where(a, 0.0, -np.inf) if a.dtype == bool else a for a in (start, transition, end))
    best = start + scores[0]
    back = np.zeros((len(scores), scores.shape[1]), dtype=np.int64)
    for t in range(1, len(scores)):
        candidates = best[:, None] + transition  # [previous, current]
        back[t] = candidates.argmax(axis=0)
        best = candidates.max(axis=0) + scores[t]
    best = best + end
    if not np.isfinite(best.max()):
        return scores.argmax(axis=-1).tolist()
    path = [int(best.argmax())]
    for t in range(len(scores) - 1, 0, -1):
        path.append(int(back[t, path[-1]]))
    return path[::-1]


def crf_rules(allowed: tuple[np.ndarray, np.ndarray, np.ndarray],
              learned: tuple[np.ndarray, np.ndarray, np.ndarray]) -> tuple[np.ndarray, ...]:
    """A CRF's start/transition/end scores, -inf where the tag scheme forbids the move (whatever was learned)."""
    return tuple(np.where(ok, score.astype(np.float64), -np.inf) for ok, score in zip(allowed, learned, strict=True))

