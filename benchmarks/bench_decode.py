"""Time load_image against a bare pydicom/Pillow decode with the same codec, in one run.

    .venv/bin/python benchmarks/bench_decode.py [FILE_OR_FOLDER ...] [--repeat N]

Prints one JSON object. Per file, medians (ms) of contenders that alternate every repeat:

  load_image          cxrviewer.io.load_image (decode plus Modality LUT, MONOCHROME1, windows,
                      metadata, codestream checks)
  pydicom_same_codec  the baseline: pydicom ``dcmread`` + ``pixel_array`` forced onto the
                      plugin load_image decodes this file with (Pillow ``load`` for PNG/JPEG)
  pydicom_default     pydicom with its own plugin order (GDCM first), only where that picks
                      another plugin

``ratio`` is load_image / pydicom_same_codec: the loader's own overhead. The codec choice is
reported apart (``codec_choice``: our plugin, pydicom's, and pydicom_same_codec /
pydicom_default, below 1 where our plugin is faster).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from same_work import loader_plugin, pydicom_decode, pydicom_default_plugin  # noqa: E402
from timing import interleaved_median_ms  # noqa: E402

from cxrviewer.io import iter_image_files, load_image  # noqa: E402
from cxrviewer.malloc_tuning import tune_malloc  # noqa: E402

log = logging.getLogger("bench_decode")
DEFAULT_DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "dicom"


def measure_file(path: Path, repeat: int) -> dict:
    ours, default = loader_plugin(path), pydicom_default_plugin(path)
    runs = {"load_image": lambda: load_image(path), "pydicom_same_codec": lambda: pydicom_decode(path, ours)}
    if default != ours:
        runs["pydicom_default"] = lambda: pydicom_decode(path, default)
    median_ms = interleaved_median_ms(runs, repeat)
    row = {"file": path.name, "median_ms": median_ms,
           "ratio": round(median_ms["load_image"] / median_ms["pydicom_same_codec"], 2),
           "codec_choice": {"ours": ours, "pydicom_default": default}}
    if default != ours:
        row["codec_choice"]["ratio_ours_to_default"] = round(
            median_ms["pydicom_same_codec"] / median_ms["pydicom_default"], 2)
    log.info("%s: %s", path.name, row)
    return row


def _ratio(rows: list[dict], top: str, bottom: str) -> float | None:
    total_top = sum(r["median_ms"][top] for r in rows if bottom in r["median_ms"])
    total_bottom = sum(r["median_ms"][bottom] for r in rows if bottom in r["median_ms"])
    return round(total_top / total_bottom, 2) if total_bottom else None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="*", type=Path, default=[DEFAULT_DATA])
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    malloc_tuned = tune_malloc()  # as the cxr and cxrviewer executables do at start-up
    warnings.simplefilter("ignore")  # the baseline reads non-conformant files too
    rows = [measure_file(path, args.repeat) for path in iter_image_files(args.paths)]
    summary = {
        "benchmark": "decode", "repeat": args.repeat, "malloc_tuning": malloc_tuned, "files": rows,
        "total_ms": {name: round(sum(r["median_ms"][name] for r in rows), 2)
                     for name in ("load_image", "pydicom_same_codec")},
        "total_ratio_load_image_to_same_codec": _ratio(rows, "load_image", "pydicom_same_codec"),
        "codec_choice_ratio_ours_to_default": _ratio(rows, "pydicom_same_codec", "pydicom_default"),
    }
    print(json.dumps(summary, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
