"""Width and height of a PNG or JPEG from its header bytes, without decoding."""

from __future__ import annotations

import struct
from pathlib import Path

# JPEG start-of-frame markers (baseline, extended, progressive, lossless, arithmetic).
_SOF_MARKERS = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
_JPEG_SCAN_BYTES = 1 << 20  # EXIF/ICC segments before the frame header are < 64 KiB each


def header_size(path: Path, kind: str) -> tuple[int, int] | None:
    """(width, height) as the header states it, or None if it cannot be found."""
    try:
        with open(path, "rb") as fh:
            data = fh.read(33 if kind == "png" else _JPEG_SCAN_BYTES)
    except OSError:
        return None
    return _png_size(data) if kind == "png" else _jpeg_size(data)


def _png_size(data: bytes) -> tuple[int, int] | None:
    if len(data) < 24 or data[12:16] != b"IHDR":
        return None
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    pos = 2  # after SOI
    while pos + 4 <= len(data):
        if data[pos] != 0xFF:
            return None
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker in (0x01, *range(0xD0, 0xD8)):  # markers without a length
            pos += 2
            continue
        (length,) = struct.unpack(">H", data[pos + 2 : pos + 4])
        if marker in _SOF_MARKERS and pos + 9 <= len(data):
            height, width = struct.unpack(">HH", data[pos + 5 : pos + 9])
            return width, height
        pos += 2 + length
    return None
