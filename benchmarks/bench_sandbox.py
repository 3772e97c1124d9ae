"""What decoding in a separate process costs: load_image in-process vs through the decoder pool.

    .venv/bin/python benchmarks/bench_sandbox.py [FILE_OR_FOLDER ...] [--repeat N]

Prints one JSON object: per file the median milliseconds in-process (the baseline, same run,
alternating with the other contender)
and through ``DecoderPool`` (pipe round trip, shared-memory copy), the overhead in
milliseconds, and the one-off start-up time of a decoder process.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from timing import interleaved_median_ms  # noqa: E402

from cxrviewer.io import iter_image_files, load_image  # noqa: E402
from cxrviewer.io.sandbox import DecoderPool  # noqa: E402

DEFAULT_DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "dicom"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="*", type=Path, default=[DEFAULT_DATA])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    pool = DecoderPool(processes=1)
    start = time.perf_counter()
    pool.load(next(iter(iter_image_files(args.paths))))
    startup = time.perf_counter() - start
    rows = []
    for path in iter_image_files(args.paths):
        ms = interleaved_median_ms({"in_process": lambda: load_image(path), "decoder": lambda: pool.load(path)},
                                   args.repeat)
        pixels = load_image(path).pixels
        rows.append({"file": path.name, "megapixels": round(pixels.size / 1e6, 2), "in_process_ms": ms["in_process"],
                     "decoder_process_ms": ms["decoder"], "overhead_ms": round(ms["decoder"] - ms["in_process"], 1)})
    pool.close()
    print(json.dumps({"benchmark": "sandbox", "first_call_s": round(startup, 3), "files": rows,
                      "median_overhead_ms": statistics.median(r["overhead_ms"] for r in rows)}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
