"""Mutation fuzzer for the image loader, run through the decoder processes.

    .venv/bin/python benchmarks/fuzz_loader.py N [--seed S] [--out results.json] [--workers K]
                                               [--timeout-s T] [--keep-failures DIR]

Builds N mutants (deterministic from --seed) of the shared DICOM, PNG and JPEG files
and of small files cut from them (bit flips, truncation, header field edits, element
length and VR corruption, transfer syntax swaps, fragment and codestream header damage,
PNG chunk / JPEG segment damage with CRCs fixed, size and deflate bombs, planted
identifiers), loads each through a DecoderPool and prints one JSON object: tried,
decoded, clean rejections, decoder crashes, hangs, over-memory (a MemoryError in the
decoder, or its peak RSS above the budget), uncaught exceptions and leaking messages,
per mutator and per seed, the rate, and up to 20 examples. Ctrl+C or SIGTERM stops
after the files in flight and still prints; --out is also rewritten every 30 s.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import signal
import warnings
import sys
from importlib import metadata
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from cxrviewer.io.sandbox import DEFAULT_TIMEOUT_S  # noqa: E402
from loader_fuzz.child_memory import DECODER_ENVIRONMENT  # noqa: E402
from loader_fuzz.run import Fuzzer, Settings  # noqa: E402
from loader_fuzz.seeds import build_seeds  # noqa: E402

SHARED = Path(__file__).resolve().parent.parent.parent / "shared" / "data"
log = logging.getLogger("fuzz_loader")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("count", type=int, help="number of mutants to try")
    parser.add_argument("--seed", type=int, default=0, help="run seed: the same seed gives the same mutants")
    parser.add_argument("--out", type=Path, help="also write the JSON here (and a checkpoint every 30 s)")
    parser.add_argument("--workers", type=int, default=1, help="decoder processes working at once (default 1)")
    parser.add_argument("--timeout-s", type=float, default=DEFAULT_TIMEOUT_S,
                        help=f"per-file decoder time-out (default {DEFAULT_TIMEOUT_S:.0f}, as in the viewer)")
    parser.add_argument("--keep-failures", type=Path, help="copy crash/hang/leak/... inputs here")
    parser.add_argument("--shared", type=Path, default=SHARED, help="the shared data folder")
    return parser.parse_args(argv)


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


def environment() -> dict:
    versions = {}
    for package in ("pydicom", "pillow", "python-gdcm", "pylibjpeg", "pylibjpeg-openjpeg", "pylibjpeg-rle", "numpy"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = None
    return {"python": platform.python_version(), "cpus": os.cpu_count(), "packages": versions}


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s", stream=sys.stderr)
    logging.getLogger("pydicom").setLevel(logging.ERROR)  # seed parsing warns about the shared files' odd UIDs
    warnings.simplefilter("ignore")  # pydicom warns about odd values (and may quote them) when sizing a header
    signal.signal(signal.SIGTERM, _interrupt)
    os.environ.update(DECODER_ENVIRONMENT)  # inherited by the decoder processes (see child_memory)
    settings = Settings(count=args.count, seed=args.seed, workers=args.workers, timeout_s=args.timeout_s,
                        keep=args.keep_failures, out=args.out)
    seeds = build_seeds(args.shared)
    command = "benchmarks/fuzz_loader.py " + " ".join(sys.argv[1:] if argv is None else argv)
    header = {"benchmark": "fuzz_loader", "command": command,
              "seed": args.seed, "workers": args.workers, "timeout_s": args.timeout_s,
              "seeds": {s.name: {"bytes": len(s.data), "weight": s.weight} for s in seeds},
              "environment": environment()}
    fuzzer = Fuzzer(settings, seeds, header)
    report = fuzzer.run()
    fuzzer.checkpoint(report)
    print(json.dumps(report, indent=1))
    return 130 if report["interrupted"] else 0


if __name__ == "__main__":
    sys.exit(main())
