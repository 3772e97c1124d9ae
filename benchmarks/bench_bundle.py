"""Size and start-up time of a built bundle (dist/cxrviewer by default), printed as JSON.

    python benchmarks/bench_bundle.py [BUNDLE_DIR] [--repeat N] [--model DIR] [--build]

Without a bundle it exits 2 and says how to build one; ``--build`` builds the default
bundle first when it is missing (``make dist-cpu``: the CPU release variant, about 6 min
on 2 cores, see README "Packaging"), then measures it. The build's own reports beside the bundle
(dist/bundle-<cpu|cuda>.json: build time, smoke test, tarball size) are added to the JSON
as ``build``, so ``python benchmarks/bench_bundle.py --build`` reproduces every figure of
the README's bundle table.

Start-up is timed from outside, wall clock, three ways:
  version_s       `cxr --version`: bootloader + Python + unpacking, no Qt, no torch
  window_s        `cxrviewer --startup-probe`: process start -> the real main window
                  shown (offscreen), as the probe reports it from /proc; what a
                  reader waits for (window_exit_s: until the process is gone)
  smoke_s         `cxr --smoke-test`: adds torch, the model, two predictions with a CAM
"cold" runs first, after the bundle's files were dropped from the page cache
(posix_fadvise DONTNEED on each file: only this bundle's pages, nothing else on
the machine; system libraries such as libGL stay cached). "warm" is the median
of --repeat further runs. Linux only for the cold numbers.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import statistics
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DEFAULT_BUNDLE = REPO / "dist" / "cxrviewer"
BUILD_COMMAND = ["make", "-C", str(REPO), "dist-cpu"]
log = logging.getLogger("bench_bundle")


def bundle_size(bundle: Path) -> dict:
    total, files, by_part = 0, 0, Counter()
    for path in bundle.rglob("*"):
        if path.is_file() and not path.is_symlink():
            size = path.stat().st_size
            total += size
            files += 1
            rel = path.relative_to(bundle).parts
            # group by the folder under _internal (torch, nvidia, PySide6, ...)
            if len(rel) == 1:
                key = "(executables)"  # each holds its own copy of the Python modules archive
            elif rel[0] == "_internal":
                key = rel[1] if len(rel) > 2 else "(_internal libraries)"
            else:
                key = rel[0]
            by_part[key] += size
    largest = {name: round(size / 2**20, 1) for name, size in by_part.most_common(8)}
    return {"bytes": total, "mib": round(total / 2**20, 1), "files": files, "largest_mib": largest}


def evict(bundle: Path) -> bool:
    if not hasattr(os, "posix_fadvise"):
        return False
    for path in bundle.rglob("*"):
        if path.is_file() and not path.is_symlink():
            fd = os.open(path, os.O_RDONLY)
            try:
                os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
            finally:
                os.close(fd)
    return True


def timed(cmd: list[str], env: dict) -> tuple[float, str]:
    start = time.perf_counter()
    done = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=600)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} exited {done.returncode}:\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
    return round(seconds, 3), done.stdout


def measure(key: str, cmd: list[str], env: dict) -> dict[str, float | None]:
    seconds, out = timed(cmd, env)
    if key != "window":
        return {f"{key}_s": seconds}
    shown = json.loads(out.strip().splitlines()[-1]).get("window_shown_s")
    return {"window_s": shown, "window_exit_s": seconds}


def exe(bundle: Path, name: str) -> str:
    return str(bundle / (name + ".exe" if sys.platform == "win32" else name))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("bundle", nargs="?", type=Path, default=DEFAULT_BUNDLE)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--model", type=Path, help="model dir for the smoke run (default: the bundled model)")
    parser.add_argument("--build", action="store_true",
                        help="build dist/cxrviewer with `make dist-cpu` first when it is missing")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="bench_bundle: %(message)s", stream=sys.stderr)
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    if not _has_bundle(args.bundle) and args.build:
        if args.bundle.resolve() != DEFAULT_BUNDLE:
            log.error("--build makes %s, not %s", DEFAULT_BUNDLE, args.bundle)
            return 2
        log.info("no bundle at %s: building it ($ %s)", args.bundle, " ".join(BUILD_COMMAND))
        done = subprocess.run(BUILD_COMMAND, cwd=REPO)
        if done.returncode != 0:
            log.error("the build failed (exit %d): see its output above", done.returncode)
            return 1
    if not _has_bundle(args.bundle):
        log.error("no bundle at %s. Build it with `make dist-cpu` (the CPU release bundle, about 6 min; "
                  "`make dist` for the CUDA one), or run `%s benchmarks/bench_bundle.py --build` to build and "
                  "measure in one go (README, Packaging)", args.bundle, Path(sys.executable).name)
        return 2
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    smoke = [exe(args.bundle, "cxr"), "--smoke-test"] + (["--model", str(args.model)] if args.model else [])
    commands = {
        "version": [exe(args.bundle, "cxr"), "--version"],
        "window": [exe(args.bundle, "cxrviewer"), "--startup-probe"],
        "smoke": smoke,
    }
    cold, warm = {}, {}
    for key, cmd in commands.items():
        if evict(args.bundle):
            cold.update(measure(key, cmd, env))
        runs = [measure(key, cmd, env) for _ in range(args.repeat)]
        for name in runs[0]:
            values = [r[name] for r in runs if r[name] is not None]
            warm[name] = round(statistics.median(values), 3) if values else None
    report = {"bundle": str(args.bundle), "size": bundle_size(args.bundle), "cold": cold,
              "warm_median": warm, "repeat": args.repeat, "cpu_count": os.cpu_count()}
    for path in sorted(args.bundle.parent.glob("bundle-*.json")):  # the build's own reports (packaging/build_dist.py)
        built = json.loads(path.read_text(encoding="utf-8"))
        report.setdefault("build", {})[path.name] = {key: built.get(key) for key in
                                                     ("variant", "torch", "build_s", "smoke", "tarball")}
    print(json.dumps(report))
    return 0


def _has_bundle(bundle: Path) -> bool:
    return (bundle / ("cxr.exe" if sys.platform == "win32" else "cxr")).is_file()


if __name__ == "__main__":
    sys.exit(main())
