"""Keep freed memory in the process on glibc, so a CPU training step does not page-fault its tensors in anew.

glibc serves each allocation above its mmap threshold (128 KiB, rising with use) from a fresh mapping and
unmaps it on free, and trims the heap's free top back to the OS. A training step allocates and frees tensors
of tens of MB every step, so every step touched fresh pages: on the development machine a fresh 16 MiB zero
fill took 6.9 ms against 0.8 ms for reused memory, and the relay's step at 256², batch 8 ran 26-33 % faster
with the settings below (docs/BENCHMARKS.md, "Training step"). The cost is that the process keeps its peak
heap (it does not shrink after a large step), which a training process wants anyway. Blocks above glibc's
ceiling for the threshold (32 MiB on 64-bit) are still mapped fresh.
"""

from __future__ import annotations

import ctypes
import logging
import sys

log = logging.getLogger(__name__)

M_TRIM_THRESHOLD, M_TOP_PAD, M_MMAP_THRESHOLD = -1, -2, -3  # glibc's malloc.h
MMAP_THRESHOLD_MAX = 32 << 20  # glibc's ceiling on 64-bit: 4 MiB * sizeof(long)
TRIM_THRESHOLD = (1 << 31) - 1  # mallopt takes an int: "never trim" in practice
TOP_PAD = 256 << 20  # grow the heap in large steps (untouched pages cost nothing)

_done = False


def keep_freed_memory() -> bool:
    """Set glibc's malloc to reuse freed blocks up to 32 MiB instead of unmapping them, once per process.
    True when set (now or before); False where there is no glibc mallopt (macOS, Windows, musl)."""
    global _done
    if _done:
        return True
    if not sys.platform.startswith("linux"):
        return False
    try:
        mallopt = ctypes.CDLL("libc.so.6").mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    settings = (
        (M_MMAP_THRESHOLD, MMAP_THRESHOLD_MAX),
        (M_TRIM_THRESHOLD, TRIM_THRESHOLD),
        (M_TOP_PAD, TOP_PAD),
    )
    _done = all(mallopt(option, value) == 1 for option, value in settings)
    if not _done:
        log.warning("glibc's mallopt refused a setting: freed memory is returned to the OS as usual")
    return _done
