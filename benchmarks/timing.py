"""Timing helper shared by the benchmark scripts (run them as `python benchmarks/NAME.py`)."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable


def interleaved_median_ms(runs: dict[str, Callable[[], object]], repeats: int, warmups: int = 1) -> dict[str, float]:
    """Median wall time per contender in ms, alternating them every repeat.

    Alternating means load from other jobs on a shared machine hits every
    contender alike, so their ratio stays meaningful. ``warmups`` calls each
    first (allocator, kernels, lazy initialisation; oneDNN builds primitives on the second).
    """
    for run in runs.values():
        for _ in range(warmups):
            run()
    times: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(repeats):
        for name, run in runs.items():
            start = time.perf_counter()
            run()
            times[name].append((time.perf_counter() - start) * 1e3)
    return {name: round(statistics.median(values), 2) for name, values in times.items()}
