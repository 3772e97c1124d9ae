"""The fuzzing run: K worker threads, each with its own one-process DecoderPool, take
mutant indices in turn, write each mutant to a temp file, load it, classify it.

Interrupting (Ctrl+C, SIGTERM) stops after the files in flight and still reports;
with an output file, a checkpoint is written every ``checkpoint_s`` seconds.
"""

from __future__ import annotations

import json
import logging
import shutil
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from cxrviewer.atomic_files import atomic_write_bytes
from cxrviewer.io.sandbox import DecoderPool

from . import child_memory
from .announced import announced_samples
from .mutators import Mutant, make_mutant
from .outcome import Outcome, classify, redact
from .seeds import Seed
from .tally import Tally
from .trivial import measure_base

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Settings:
    count: int
    seed: int = 0
    workers: int = 1
    timeout_s: float = 30.0
    keep: Path | None = None
    out: Path | None = None
    checkpoint_s: float = 30.0


class _Indices:
    def __init__(self, count: int) -> None:
        self._next, self._count, self._lock = 0, count, threading.Lock()

    def take(self) -> int | None:
        with self._lock:
            if self._next >= self._count:
                return None
            self._next += 1
            return self._next - 1


class Fuzzer:
    def __init__(self, settings: Settings, seeds: list[Seed], header: dict) -> None:
        self.settings, self.seeds, self.header = settings, seeds, header
        self.folder = Path(tempfile.mkdtemp(prefix="cxrfuzz-"))
        self.tally = Tally(self.folder)
        self.stop = threading.Event()
        self.base = 0
        self.interrupted = False
        self.worker_failures = 0  # a fuzzer bug, not a loader finding: the report is then incomplete

    def run(self) -> dict:
        try:
            self.base = measure_base(self.folder, self.settings.timeout_s, self.seeds)
            log.info("decoder peak RSS on a trivial file: %.0f MiB", self.base / 2**20)
            self._run_workers()
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)
        return self.report()

    def _run_workers(self) -> None:
        indices = _Indices(self.settings.count)
        threads = [threading.Thread(target=self._work, args=(indices,), name=f"fuzz-{w}", daemon=True)
                   for w in range(max(1, self.settings.workers))]
        for thread in threads:
            thread.start()
        last = time.monotonic()
        try:
            while any(t.is_alive() for t in threads):
                time.sleep(0.5)
                if time.monotonic() - last >= self.settings.checkpoint_s:
                    self.checkpoint()
                    last = time.monotonic()
        except KeyboardInterrupt:
            self.interrupted = True
            log.warning("interrupted: finishing the files in flight")
            self.stop.set()
            for thread in threads:
                thread.join(timeout=self.settings.timeout_s + 5)

    def _work(self, indices: _Indices) -> None:
        pool = DecoderPool(processes=1, timeout_s=self.settings.timeout_s)
        settle_to = self.base + child_memory.BASE_ALLOWANCE // 2
        held = 0  # what the decoder held after the last file
        try:
            while not self.stop.is_set() and (index := indices.take()) is not None:
                mutant = make_mutant(self.settings.seed, index, self.seeds)
                outcome = self._try(pool, mutant, settle_to if held > settle_to else None)
                held = outcome.rss_after or 0
                self.tally.add(mutant, outcome)
        except BaseException:
            log.exception("a fuzzing worker stopped; the others go on")
            self.worker_failures += 1
            raise
        finally:
            pool.close()

    def _try(self, pool: DecoderPool, mutant: Mutant, settle_to: int | None) -> Outcome:
        path = self.folder / f"{mutant.index:08x}{mutant.seed.suffix}"
        path.write_bytes(mutant.data)
        pid = child_memory.reset_peak(pool, settle_to)
        start = time.perf_counter()
        result = error = None
        try:
            result = pool.load(path)
        except Exception as exc:  # noqa: BLE001 - classified: anything not an ImageLoadError is "uncaught"
            error = exc
        outcome = classify(result, error, mutant.seed.identifiers, self.folder)
        outcome.seconds = time.perf_counter() - start
        outcome.peak_rss, outcome.rss_after = child_memory.read_peak(pool, pid) or (None, None)
        self._check_budget(mutant, outcome, result.pixels.size if result is not None else 0)
        if outcome.failed and self.settings.keep is not None:
            self._keep(path, mutant, outcome)
        path.unlink(missing_ok=True)
        return outcome

    def _check_budget(self, mutant: Mutant, outcome: Outcome, pixels: int) -> None:
        if outcome.peak_rss is None:
            return
        outcome.budget = child_memory.budget(self.base, max(pixels, len(mutant.data)))
        if outcome.peak_rss > outcome.budget:  # rare: only then parse the header for what it announced
            announced = announced_samples(mutant.data, mutant.seed.kind)
            outcome.budget = child_memory.budget(self.base, max(pixels, len(mutant.data), announced))
        outcome.over_budget = outcome.peak_rss > outcome.budget

    def _keep(self, path: Path, mutant: Mutant, outcome: Outcome) -> None:
        keep = self.settings.keep
        keep.mkdir(parents=True, exist_ok=True)
        name = f"{mutant.index:08x}-{outcome.kind}{mutant.seed.suffix}"
        shutil.copyfile(path, keep / name)
        record = {"file": name, "index": mutant.index, "seed": mutant.seed.name, "mutator": mutant.mutator,
                  "outcome": outcome.kind, "leaks": outcome.leaks, "over_budget": outcome.over_budget,
                  "message": redact(outcome.message, mutant.seed.identifiers, self.folder)}
        with open(keep / "index.jsonl", "a", encoding="utf-8") as fh:
            fh.write(json.dumps(record) + "\n")

    def report(self) -> dict:
        body = self.tally.report()
        return {**self.header, "requested": self.settings.count, "tried": body.pop("tried"),
                "complete": not self.interrupted and self.tally.tried >= self.settings.count,
                "interrupted": self.interrupted, "worker_failures": self.worker_failures,
                "memory": {"trivial_file_peak_mib": round(self.base / 2**20, 1),
                           "budget_rule": child_memory.BUDGET_RULE,
                           "decoder_environment": child_memory.DECODER_ENVIRONMENT},
                **body}

    def checkpoint(self, report: dict | None = None) -> None:
        """Write ``report`` (default: the counts so far) to --out, if given."""
        if self.settings.out is not None:
            report = self.report() if report is None else report
            atomic_write_bytes(self.settings.out, (json.dumps(report, indent=1) + "\n").encode())

