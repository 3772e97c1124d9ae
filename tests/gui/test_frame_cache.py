"""The frame cache of a multi-frame image: a few frames, bounded in count and bytes, newest kept."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from cxrviewer.gui.frame_cache import FrameCache, neighbours
from cxrviewer.io import LoadedImage, Window


def _frame(index: int, side: int = 64) -> LoadedImage:
    return LoadedImage(path=Path("multi.dcm"), kind="dicom", pixels=np.zeros((side, side), np.float32),
                       window=Window("W", 0.5, 1.0), presets=(), photometric="MONOCHROME2", bits=8, frames=9,
                       frame_index=index)


def test_least_recently_used_frames_leave_first() -> None:
    cache = FrameCache(max_frames=3)
    for i in range(3):
        cache.put(_frame(i))
    assert cache.get(0) is not None  # now the most recent
    cache.put(_frame(3))
    assert 1 not in cache and all(i in cache for i in (0, 2, 3))


def test_the_byte_budget_keeps_at_least_the_newest_frame() -> None:
    cache = FrameCache(max_frames=10, max_bytes=64 * 64 * 4 * 2)
    for i in range(4):
        cache.put(_frame(i))
    assert cache.nbytes() <= 64 * 64 * 4 * 2 and 3 in cache
    tiny = FrameCache(max_bytes=1)
    tiny.put(_frame(5))
    assert 5 in tiny  # the frame on screen always stays


def test_neighbours_nearest_first_within_the_file() -> None:
    assert neighbours(0, 9) == [1, 2]
    assert neighbours(4, 9) == [5, 3, 6, 2]
    assert neighbours(8, 9) == [7, 6]
    assert neighbours(0, 1) == []
