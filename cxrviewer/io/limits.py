"""Limits the loader enforces before decoding, so a hostile header cannot exhaust memory."""

from __future__ import annotations

from pathlib import Path

from .errors import ImageTooLargeError

# Largest side accepted. 16384 x 16384 float32 is 1 GiB: the most a workstation viewer
# should be asked to hold for one image. Real chest radiographs are about 3000 px.
MAX_SIDE = 16384


def check_size(path: Path, width: int, height: int) -> None:
    """Refuse an image whose header announces more than MAX_SIDE pixels on a side."""
    if width > MAX_SIDE or height > MAX_SIDE:
        raise ImageTooLargeError(
            f"{path.name}: image is {width} x {height} pixels; "
            f"cxrviewer opens images up to {MAX_SIDE} pixels on a side"
        )
