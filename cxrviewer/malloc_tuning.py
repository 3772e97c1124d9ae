"""glibc malloc thresholds for this process, set once at start-up (Linux; elsewhere nothing).

By default glibc serves every allocation above a moving threshold (128 KiB at first)
with its own mmap and gives it back on free, and trims the heap top as soon as 128 KiB
are free there. Model activations, preprocessed images and heat maps are arrays of
hundreds of KiB to a few MiB, allocated and freed again for every image, so each one
came back as fresh pages to fault in and zero: `cxr predict` on the 1955 x 1841 chest CR
took 240,000 page faults. With arrays up to 4 MiB from the heap and 32 MiB of free heap
kept before trimming, it takes 122,000, at the same peak memory (a 32 MiB mmap
threshold faults no less and costs 30 MiB more; benchmarks/bench_predict_startup.py
measures both). Applied by `cxr` (every subcommand: predict, train, adapt, ...), the
viewer and the bundle's executables (packaging/hooks/rthook_malloc.py).

Environment: CXR_MALLOC_TUNING=0 keeps glibc's defaults; MALLOC_MMAP_THRESHOLD_ or
MALLOC_TRIM_THRESHOLD_, when set, are glibc's own settings and are left as they are.
"""

from __future__ import annotations

import ctypes
import os
import sys

M_TRIM_THRESHOLD = -1  # <malloc.h>
M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 4 * 2**20
TRIM_THRESHOLD = 32 * 2**20
ENV_SWITCH = "CXR_MALLOC_TUNING"
GLIBC_ENV = ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_")

_applied: bool | None = None


def tune_malloc() -> bool:
    """Set the thresholds once per process; True when they are in force."""
    global _applied
    if _applied is None:
        _applied = _apply()
    return _applied


def _apply() -> bool:
    if not sys.platform.startswith("linux") or os.environ.get(ENV_SWITCH) == "0":
        return False
    if any(name in os.environ for name in GLIBC_ENV):
        return False  # the user tuned glibc directly
    try:
        mallopt = ctypes.CDLL(None).mallopt  # glibc's; musl's is a stub that returns 0
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    return bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD))
