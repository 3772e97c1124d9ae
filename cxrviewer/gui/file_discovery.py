"""Expand dropped or chosen paths into image files (folders are walked recursively)."""

from __future__ import annotations

import itertools
import logging
from collections.abc import Iterable
from pathlib import Path

from cxrviewer.io import iter_image_files

log = logging.getLogger(__name__)

MAX_FILES = 20_000  # a guard against dropping a whole disk onto the window


def expand_paths(paths: Iterable[Path]) -> list[Path]:
    """Files stay as given (so unreadable ones get a visible error); folders yield their images."""
    found = list(itertools.islice(iter_image_files(paths), MAX_FILES + 1))
    if len(found) > MAX_FILES:
        log.warning("listing stopped at %d files", MAX_FILES)
        found = found[:MAX_FILES]
    return found
