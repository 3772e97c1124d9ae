"""`cxr info PATH... [--json]`: describe image files (folders are walked).

Exit status: 0 when every image loads, 1 when any fails (a missing path included),
2 on usage errors (argparse).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from cxrviewer.io import ImageLoadError, iter_image_files
from cxrviewer.io.sandbox import load_image_isolated
from cxrviewer.io.detect import read_head, sniff_kind

from .info_format import human_line, json_line, print_skipped, record_for_error, record_for_image

EXIT_OK, EXIT_FAILED = 0, 1


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("paths", nargs="+", metavar="PATH", type=Path,
                        help="image files (DICOM, PNG, JPEG) or folders to walk")
    parser.add_argument("--json", action="store_true",
                        help="one JSON object per line (keys: "
                             "path, ok, kind, width, height, bits, photometric, modality, "
                             "body_part, view_position, frames, error, windows, value_min, value_max; "
                             "windows and values on the file's own scale, after its Modality LUT)")


def run(args: argparse.Namespace) -> int:
    try:
        return _report(args)
    except BrokenPipeError:
        # `cxr info ... | head`: the reader left; stop quietly like other Unix tools.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_FAILED


def _report(args: argparse.Namespace) -> int:
    failed = 0
    seen = 0
    for path in iter_image_files(args.paths, on_skip=print_skipped):
        seen += 1
        record = describe(path)
        failed += not record["ok"]
        line = json_line(record) if args.json else human_line(record)
        stream = sys.stdout if record["ok"] or args.json else sys.stderr
        print(line, file=stream, flush=True)
    if seen == 0 and not args.json:
        print("no image files found", file=sys.stderr)
    return EXIT_FAILED if failed else EXIT_OK


def describe(path: Path) -> dict:
    """The info record for one file; failures become records, never exceptions."""
    try:
        image = load_image_isolated(path)
    except ImageLoadError as exc:
        return record_for_error(path, exc, _kind_or_none(path))
    return record_for_image(path, image)


def _kind_or_none(path: Path) -> str | None:
    """The format of a file that failed to load, when its first bytes tell."""
    try:
        if not path.is_file():  # never open a pipe or device
            return None
        return sniff_kind(read_head(path))
    except OSError:
        return None
