"""Expand files and folders into the image files they hold."""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from .formats import is_image_file

log = logging.getLogger(__name__)

def natural_key(name: str) -> list:
    """Sort key putting 'img2' before 'img10'."""
    return [int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", name)]


Skipped = Callable[[Path, str], None]

HIDDEN = "hidden"
NOT_AN_IMAGE = "not an image (by its extension and content)"
FOLDER_LINK = "link to a folder (not followed)"
# What any folder may hold: worth a count, not a warning. Every other reason (a broken
# link, a pipe, an unreadable file) is a file the user may have meant to open.
ORDINARY_SKIPS = (HIDDEN, NOT_AN_IMAGE, FOLDER_LINK)


def ignore_skipped(_path: Path, _reason: str) -> None:
    pass


def iter_image_files(paths: Iterable[str | Path], on_skip: Skipped = ignore_skipped) -> Iterator[Path]:
    """Image files among ``paths``, walking folders recursively in natural order.

    A path given explicitly is yielded as it is, even if missing or not an image, so
    the caller can report it. Inside folders, hidden files and folders are skipped and
    files are kept by extension, or by content when the extension says nothing; every
    entry left out is passed to ``on_skip`` with the reason, so a caller can account
    for each one.
    """
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            yield from _walk(path, on_skip)
        else:
            yield path


def _walk(folder: Path, on_skip: Skipped) -> Iterator[Path]:
    try:
        entries = sorted(os.scandir(folder), key=lambda e: natural_key(e.name))
    except OSError as exc:
        on_skip(folder, f"folder cannot be read ({exc.strerror or type(exc).__name__})")
        return
    subfolders = []
    for entry in entries:
        path = Path(entry.path)
        if entry.name.startswith("."):
            on_skip(path, HIDDEN)
            continue
        try:
            reason = _skip_reason(entry, path)
        except OSError as exc:
            reason = f"cannot be read ({exc.strerror or type(exc).__name__})"
        if reason == "folder":
            subfolders.append(path)
        elif reason:
            on_skip(path, reason)
        else:
            yield path
    for sub in subfolders:
        yield from _walk(sub, on_skip)


def _skip_reason(entry: os.DirEntry, path: Path) -> str:
    """'' for an image file, 'folder' for a sub-folder to walk, else why it is left out."""
    if entry.is_dir(follow_symlinks=False):
        return "folder"
    if entry.is_symlink() and not path.exists():
        return "broken link"
    if not entry.is_file():
        return "not a regular file (a pipe, socket or device)" if not entry.is_dir() else FOLDER_LINK
    return "" if _is_candidate(path) else NOT_AN_IMAGE


def _is_candidate(path: Path) -> bool:
    return is_image_file(path)
