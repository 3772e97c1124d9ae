"""Expand dropped or chosen paths into image files (folders are walked recursively).

Runs in the loader thread: walking a large or network folder reads file headers.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable
from pathlib import Path

from cxrviewer.io import iter_image_files
from cxrviewer.io.walk import Skipped, ignore_skipped

log = logging.getLogger(__name__)

MAX_FILES = 20_000  # a guard against dropping a whole disk onto the window


def expand_paths(paths: Iterable[Path], stop: threading.Event | None = None,
                 on_skip: Skipped = ignore_skipped) -> list[Path]:
    """Files stay as given (so unreadable ones get a visible error); folders yield their images.

    Every folder entry left out goes to ``on_skip`` with the reason. Stops early,
    returning what it has, once `stop` is set.
    """
    found: list[Path] = []
    for path in iter_image_files(paths, on_skip=on_skip):
        if stop is not None and stop.is_set():
            break
        found.append(path)
        if len(found) >= MAX_FILES:
            log.warning("listing stopped at %d files", MAX_FILES)
            break
    return found
