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


# Largest decoded pixel data accepted, from the header, before any decoding: a
# 16384 x 16384 single-frame 16-bit image (512 MiB). Bigger claims (32-bit samples,
# colour, many frames at that size) are refused without allocating anything.
MAX_DECODED_BYTES = MAX_SIDE * MAX_SIDE * 2


def decoded_bytes(rows: int, cols: int, samples: int, frames: int, bits_allocated: int) -> int:
    """Bytes of native pixel data: rows x columns x samples x frames x whole bytes per sample."""
    return rows * cols * max(samples, 1) * max(frames, 1) * max(1, -(-max(bits_allocated, 1) // 8))


def check_decoded_bytes(path: Path, rows: int, cols: int, samples: int, frames: int, bits_allocated: int) -> None:
    """Refuse an image whose decoded size (rows x columns x samples x frames x bytes) exceeds the budget."""
    nbytes = decoded_bytes(rows, cols, samples, frames, bits_allocated)
    if nbytes > MAX_DECODED_BYTES:
        raise ImageTooLargeError(
            f"{path.name}: the image would need {nbytes / 2**20:,.0f} MiB decoded "
            f"({cols} x {rows}, {samples} sample(s), {frames} frame(s), {bits_allocated}-bit); "
            f"cxrviewer decodes at most {MAX_DECODED_BYTES // 2**20} MiB per image"
        )
