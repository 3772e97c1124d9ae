"""Expand files and folders into the image files they hold."""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterable, Iterator
from pathlib import Path

from .formats import is_image_file

log = logging.getLogger(__name__)

def natural_key(name: str) -> list:
    """Sort key putting 'img2' before 'img10'."""
    return [int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", name)]


def iter_image_files(paths: Iterable[str | Path]) -> Iterator[Path]:
    """Image files among ``paths``, walking folders recursively in natural order.

    A path given explicitly is yielded as it is, even if missing or not an image, so
    the caller can report it. Inside folders, hidden files and folders are skipped and
    files are kept by extension, or by content when the extension says nothing.
    """
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            yield from _walk(path)
        else:
            yield path


def _walk(folder: Path) -> Iterator[Path]:
    try:
        entries = sorted(os.scandir(folder), key=lambda e: natural_key(e.name))
    except OSError as exc:
        log.warning("skipping folder %s: %s", folder.name, exc.strerror or exc)
        return
    subfolders = []
    for entry in entries:
        if entry.name.startswith("."):
            continue
        try:
            if entry.is_dir(follow_symlinks=False):
                subfolders.append(Path(entry.path))
            elif entry.is_file() and _is_candidate(Path(entry.path)):
                yield Path(entry.path)
        except OSError as exc:
            log.warning("skipping %s: %s", entry.name, exc.strerror or exc)
    for sub in subfolders:
        yield from _walk(sub)


def _is_candidate(path: Path) -> bool:
    return is_image_file(path)
