"""Time load_image against a bare pydicom/Pillow decode of the same files, in one run.

    .venv/bin/python benchmarks/bench_decode.py [FILE_OR_FOLDER ...] [--repeat N]

Prints one JSON object: per file the median seconds of the baseline (decode only:
pydicom ``dcmread`` + ``pixel_array`` or Pillow ``load``) and of ``load_image``
(decode plus Modality LUT, MONOCHROME1, windows, metadata), and their ratio.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
import warnings
from pathlib import Path

import pydicom
from PIL import Image

from cxrviewer.io import iter_image_files, load_image
from cxrviewer.io.detect import sniff_kind

DEFAULT_DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "dicom"


def baseline_decode(path: Path) -> None:
    if sniff_kind(path) == "dicom":
        pydicom.dcmread(path, force=True).pixel_array  # noqa: B018 - decoding is the point
    else:
        with Image.open(path) as im:
            im.load()


def median_seconds(func, path: Path, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        func(path)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="*", type=Path, default=[DEFAULT_DATA])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore")  # the baseline reads non-conformant files too
    results = []
    for path in iter_image_files(args.paths):
        load_image(path)  # warm caches and plugin imports for both
        base = median_seconds(baseline_decode, path, args.repeat)
        ours = median_seconds(load_image, path, args.repeat)
        results.append({"file": path.name, "baseline_s": round(base, 4),
                        "load_image_s": round(ours, 4), "ratio": round(ours / base, 2)})
    total_base = sum(r["baseline_s"] for r in results)
    total_ours = sum(r["load_image_s"] for r in results)
    summary = {"benchmark": "decode", "repeat": args.repeat, "files": results,
               "total_baseline_s": round(total_base, 4), "total_load_image_s": round(total_ours, 4),
               "total_ratio": round(total_ours / total_base, 2) if total_base else None}
    json.dump(summary, sys.stdout, indent=2)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
