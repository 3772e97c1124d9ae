"""Counts per outcome, mutator and seed, examples of failures, and the report as JSON."""

from __future__ import annotations

import re
import threading
import time
from collections import Counter, defaultdict
from pathlib import Path

from .mutators import Mutant
from .outcome import CRASH, DECODED, HANG, MEMORY_ERROR, OUTCOMES, REJECTED, UNCAUGHT, Outcome, redact

MAX_EXAMPLES = 20
_FILE_NAME = re.compile(r"^[0-9a-f]{8}\.(dcm|png|jpg): ")


class Tally:
    """Thread-safe; ``report()`` can be called at any time (checkpoints, interruption)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.started = time.monotonic()
        self._lock = threading.Lock()
        self.tried = 0
        self.outcomes: Counter[str] = Counter()
        self.flags: Counter[str] = Counter()  # leaks, above_budget, bad_images
        self.per_mutator: dict[str, Counter[str]] = defaultdict(Counter)
        self.per_seed: dict[str, Counter[str]] = defaultdict(Counter)
        self.seconds: Counter[str] = Counter()  # load time per mutator family
        self.crash_causes: Counter[str] = Counter()
        self.rejections: Counter[str] = Counter()
        self.examples: list[dict] = []
        self._example_keys: set[tuple] = set()
        self.peaks: list[tuple[float, int, str, str]] = []  # (peak / budget, peak, mutator, seed), top few
        self.slowest: list[tuple[float, str, str, str]] = []
        self.rss_after_max = 0  # the most a decoder held between files
        self.rss_after_last = 0

    def add(self, mutant: Mutant, outcome: Outcome) -> None:
        with self._lock:
            self.tried += 1
            self.outcomes[outcome.kind] += 1
            labels = [outcome.kind]
            for flag, on in (("leak", outcome.leaks), ("above_budget", outcome.over_budget),
                             ("bad_image", outcome.bad_image)):
                if on:
                    self.flags[flag] += 1
                    labels.append(flag)
            for label in ["tried", *labels]:
                self.per_mutator[mutant.family][label] += 1
                self.per_seed[mutant.seed.name][label] += 1
            self.seconds[mutant.family] += outcome.seconds
            if outcome.kind == CRASH:
                self.crash_causes[outcome.crash_how] += 1
            if outcome.kind == REJECTED:
                self.rejections[outcome.error_type] += 1
                self.flags["leaky_rejection"] += bool(outcome.leaks)
            self._note_extremes(mutant, outcome)
            if outcome.failed:
                self._example(mutant, outcome, labels)

    def _note_extremes(self, mutant: Mutant, outcome: Outcome) -> None:
        if outcome.rss_after:
            self.rss_after_max = max(self.rss_after_max, outcome.rss_after)
            self.rss_after_last = outcome.rss_after
        if outcome.peak_rss and outcome.budget:
            self.peaks.append((outcome.peak_rss / outcome.budget, outcome.peak_rss, mutant.mutator, mutant.seed.name))
            self.peaks = sorted(self.peaks, reverse=True)[:5]
        self.slowest.append((outcome.seconds, mutant.mutator, mutant.seed.name, outcome.kind))
        self.slowest = sorted(self.slowest, reverse=True)[:5]

    def _example(self, mutant: Mutant, outcome: Outcome, labels: list[str]) -> None:
        message = redact(_FILE_NAME.sub("", outcome.message), mutant.seed.identifiers, self.folder)
        key = (tuple(labels), mutant.family, mutant.seed.name, re.sub(r"\d+", "#", message))
        if key in self._example_keys or len(self.examples) >= MAX_EXAMPLES:
            return
        self._example_keys.add(key)
        self.examples.append({
            "index": mutant.index, "outcome": "+".join(labels), "mutator": mutant.mutator, "seed": mutant.seed.name,
            "error": outcome.error_type, "message": message, "leak_reasons": outcome.leaks,
            "crash": outcome.crash_how, "bad_image": outcome.bad_image, "seconds": round(outcome.seconds, 2),
            "peak_mib": _mib(outcome.peak_rss), "budget_mib": _mib(outcome.budget),
        })

    def report(self) -> dict:
        with self._lock:
            wall = time.monotonic() - self.started
            return {
                "tried": self.tried,
                "counts": {
                    "decoded": self.outcomes[DECODED],
                    "clean_rejections": self.outcomes[REJECTED] - self.flags["leaky_rejection"],
                    "crashes": self.outcomes[CRASH],
                    "hangs": self.outcomes[HANG],
                    "over_memory": {"memory_error": self.outcomes[MEMORY_ERROR],
                                    "peak_above_budget": self.flags["above_budget"]},
                    "uncaught": self.outcomes[UNCAUGHT],
                    "leaks": self.flags["leak"],
                    "bad_images": self.flags["bad_image"],
                },
                "outcomes": {k: self.outcomes[k] for k in OUTCOMES},
                "crash_causes": dict(self.crash_causes),
                "rejections_by_error": dict(self.rejections.most_common()),
                "per_mutator": {k: {**v, "seconds": round(self.seconds[k], 1)}
                                for k, v in sorted(self.per_mutator.items())},
                "per_seed": {k: dict(v) for k, v in sorted(self.per_seed.items())},
                "wall_s": round(wall, 1),
                "rate_files_per_s": round(self.tried / wall, 2) if wall else 0.0,
                "decoder_rss_between_files_mib": {"max": _mib(self.rss_after_max), "last": _mib(self.rss_after_last)},
                "highest_peaks": [{"peak_over_budget": round(r, 3), "peak_mib": _mib(p), "mutator": m, "seed": s}
                                  for r, p, m, s in self.peaks],
                "slowest": [{"seconds": round(t, 2), "mutator": m, "seed": s, "outcome": o}
                            for t, m, s, o in self.slowest],
                "examples": list(self.examples),
            }

def _mib(value: int | None) -> float | None:
    return None if value is None else round(value / 2**20, 1)
