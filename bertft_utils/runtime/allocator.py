"""Freed CPU memory kept for reuse (glibc malloc settings), so that large tensors made every step cost no page faults.

By default glibc maps every block above its mmap threshold (at most 32 MiB) afresh and unmaps it on free. A training
step makes several such blocks (the word-embedding gradient: 47 MiB for MiniLM's 30,522 x 384; more with added
characters) and many smaller ones that the heap trims away, so the next step faults the same memory in again, page by
page. With mmap off and trimming off, malloc serves them from memory the process already has (what that is worth is
measured in results/train_throughput_bf16.md, "malloc as it is"). The cost: memory the process freed is not
given back to the system before it ends (peak resident memory: results/ner_memory.md).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging

logger = logging.getLogger(__name__)

M_TRIM_THRESHOLD, M_MMAP_MAX = -1, -4  # glibc's <malloc.h>
NO_TRIMMING = 2**31 - 1  # the largest value mallopt takes (an int): 2 GiB


def glibc():
    """The C library when it is glibc (mallopt's parameters are glibc's), else None."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    except OSError:
        return None
    return libc if hasattr(libc, "gnu_get_libc_version") and hasattr(libc, "mallopt") else None


def keep_freed_memory() -> bool:
    """Tell glibc's malloc to serve every block from its heap and keep what is freed; False where that is not glibc
    (nothing changes there)."""
    libc = glibc()
    if libc is None:
        logger.info("Not glibc: memory allocation left as it is.")
        return False
    libc.mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    trimming = libc.mallopt(M_TRIM_THRESHOLD, NO_TRIMMING)
    mapping = libc.mallopt(M_MMAP_MAX, 0)
    if not (trimming and mapping):
        logger.warning("glibc refused the malloc settings (mallopt returned %d, %d): memory allocation left as it is.",
                       trimming, mapping)
        return False
    logger.info("Freed memory is kept for reuse by this process (--keep_freed_memory; large tensors then cost no page "
                "faults).")
    return True


def release_freed_memory() -> bool:
    """Hand the memory malloc holds free back to the system (glibc's malloc_trim, pages inside the heap included);
    False where that is not glibc. Called between the pieces of a file predicted piece by piece: with the settings of
    `keep_freed_memory` the heap only grows, and pieces of other lengths leave it fragmented."""
    libc = glibc()
    if libc is None or not hasattr(libc, "malloc_trim"):
        return False
    libc.malloc_trim.argtypes = [ctypes.c_size_t]
    libc.malloc_trim(0)
    return True
