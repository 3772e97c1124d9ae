"""(Re)build the committed test fixture set, tests/data/, from the full data sets.

    python tests/data/make_fixtures.py [--source ../shared/data] [--out tests/data]

Deterministic: the same full data always gives the same files. The subset is laid
out like the full data (dicom/, samples/, cxr3/, lungs/, each labels.csv with the
same header and the selected rows copied byte for byte, in their original order),
so a test reads either without knowing which. Keeping the original order matters:
tests that take "the first N test images" then pick the same images from both.

What the tests need from it (grep for cxr3_dir, LUNGS, dicom_dir, samples_dir):
- every (split, label, source) of cxr3 and every (split, label) of lungs, a few
  images each: evaluation, adaptation and training tests break results down by
  them and need several images per class and split;
- the first 20 cxr3 `test` rows: the worklist test opens 20, the worker tests 12;
- the first 12 rows of each cxr3 source: the adaptation tests build their site
  from the first 12 NIH images of each label;
- all DICOM files (the codec tests and the hostile-file corpus are built on them)
  and all samples (the demo images).
tests/test_fixture_data.py checks, where the full data is present, that this
selection still reproduces the committed files exactly.
"""

from __future__ import annotations

import argparse
import csv
import logging
import shutil
import sys
from collections import defaultdict
from pathlib import Path

log = logging.getLogger("make_fixtures")

CXR3_PER_STRATUM = 4  # per (split, label, source)
CXR3_FIRST_OF_SPLIT = {"test": 20}
CXR3_FIRST_OF_SOURCE = 12
LUNGS_PER_STRATUM = 4  # per (split, label): 12 test images for the segmenter's Dice test
COPIED_WHOLE = ("dicom", "samples")
SETS = ("cxr3", "lungs", *COPIED_WHOLE)  # the folders this script owns under --out
_FILE_COLUMNS = {"cxr3": ("path",), "lungs": ("path", "lung_mask", "infection_mask")}


def _first_per(rows: list[dict], key, count: int) -> set[int]:
    """Indexes of the first ``count`` rows of each ``key(row)`` group."""
    taken: dict[object, int] = defaultdict(int)
    chosen = set()
    for index, row in enumerate(rows):
        group = key(row)
        if taken[group] < count:
            taken[group] += 1
            chosen.add(index)
    return chosen


def select_cxr3(rows: list[dict]) -> set[int]:
    chosen = _first_per(rows, lambda r: (r["split"], r["label"], r["source"]), CXR3_PER_STRATUM)
    chosen |= _first_per(rows, lambda r: r["source"], CXR3_FIRST_OF_SOURCE)
    for split, count in CXR3_FIRST_OF_SPLIT.items():
        chosen |= set([i for i, r in enumerate(rows) if r["split"] == split][:count])
    return chosen


def select_lungs(rows: list[dict]) -> set[int]:
    return _first_per(rows, lambda r: (r["split"], r["label"]), LUNGS_PER_STRATUM)


_SELECTORS = {"cxr3": select_cxr3, "lungs": select_lungs}


def read_table(csv_path: Path) -> tuple[str, list[str], list[dict]]:
    """(header line, raw data lines, parsed rows) of a labels.csv; raw lines keep the bytes exact."""
    text = csv_path.read_text(encoding="utf-8")
    lines = text.splitlines(keepends=True)
    rows = list(csv.DictReader(lines))
    if len(rows) != len(lines) - 1:
        raise ValueError(f"{csv_path}: a row spans several lines; this script copies lines")
    return lines[0], lines[1:], rows


def plan(source: Path) -> dict[str, bytes | Path]:
    """Everything the fixture set holds: relative path -> file to copy, or bytes to write (the CSVs)."""
    files: dict[str, bytes | Path] = {}
    for name in COPIED_WHOLE:
        for path in sorted((source / name).iterdir()):
            if path.is_file():
                files[f"{name}/{path.name}"] = path
    for name, select in _SELECTORS.items():
        header, lines, rows = read_table(source / name / "labels.csv")
        chosen = sorted(select(rows))
        files[f"{name}/labels.csv"] = (header + "".join(lines[i] for i in chosen)).encode("utf-8")
        for index in chosen:
            for column in _FILE_COLUMNS[name]:
                if rows[index].get(column):
                    files[f"{name}/{rows[index][column]}"] = source / name / rows[index][column]
    return files


def build(source: Path, out: Path) -> dict[str, bytes | Path]:
    files = plan(source)
    for name in SETS:  # a clean rebuild: images no longer selected must go
        shutil.rmtree(out / name, ignore_errors=True)
    for relative, content in files.items():
        target = out / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            target.write_bytes(content)
        else:
            shutil.copyfile(content, target)  # not copy2: the shared files are read-only
    return files


def _default_source() -> Path:
    import runpy  # the helper sits in tests/, which is not a package on sys.path for a script

    return runpy.run_path(str(Path(__file__).resolve().parents[1] / "data_root.py"))["full_data_candidate"]()


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=None,
                        help="the full data sets (default: $CXR_SHARED_DATA or ../shared/data)")
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent)
    args = parser.parse_args(argv)
    source = args.source or _default_source()
    if not (source / "cxr3" / "labels.csv").is_file():
        log.error("no full data sets at %s (see README 'Test data')", source)
        return 2
    files = build(source, args.out)
    size = sum((args.out / relative).stat().st_size for relative in files)
    log.info("%d files, %.1f MB written to %s", len(files), size / 1e6, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
