"""Write an 8-bit grey or RGB PNG from bands of rows, so a large image never exists whole.

An overlay of a 16384-px film is 800 MB as one RGB array, and an encoder that
takes whole arrays doubles that. Here each band of rows is filtered (Paeth, the
PNG filter that suits photographs and radiographs best), deflated and written as
it comes; memory is a band's worth. Any PNG reader decodes the result.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterable
from typing import BinaryIO

import numpy as np

SIGNATURE = b"\x89PNG\r\n\x1a\n"
_COLOUR_TYPE = {1: 0, 3: 2}  # samples per pixel -> PNG colour type (grey, RGB)
_PAETH = 4
DEFAULT_LEVEL = 6


def write_png_bands(fh: BinaryIO, height: int, width: int, channels: int, bands: Iterable[np.ndarray],
                    level: int = DEFAULT_LEVEL) -> None:
    """Write a PNG whose rows arrive as uint8 bands of shape (rows, width[, channels]), top to bottom."""
    if channels not in _COLOUR_TYPE:
        raise ValueError(f"PNG bands need 1 or 3 channels, not {channels}")
    fh.write(SIGNATURE)
    _chunk(fh, b"IHDR", struct.pack(">IIBBBBB", width, height, 8, _COLOUR_TYPE[channels], 0, 0, 0))
    deflater = zlib.compressobj(level)
    above = np.zeros(width * channels, dtype=np.uint8)  # the row above the first is zeros
    rows = 0
    for band in bands:
        flat = np.ascontiguousarray(band, dtype=np.uint8).reshape(band.shape[0], width * channels)
        data = deflater.compress(paeth_filtered(flat, above, channels).tobytes())
        if data:
            _chunk(fh, b"IDAT", data)
        above = flat[-1].copy()
        rows += flat.shape[0]
    if rows != height:
        raise ValueError(f"the bands held {rows} rows, the header says {height}")
    _chunk(fh, b"IDAT", deflater.flush())
    _chunk(fh, b"IEND", b"")


def paeth_filtered(rows: np.ndarray, above: np.ndarray, bpp: int) -> np.ndarray:
    """(n, L) uint8 scanlines -> (n, 1 + L): filter-type byte 4, then the Paeth differences."""
    raw = rows.astype(np.int16)
    up = np.empty_like(raw)
    up[0] = above
    up[1:] = raw[:-1]
    left = np.zeros_like(raw)
    left[:, bpp:] = raw[:, :-bpp]
    up_left = np.zeros_like(raw)
    up_left[:, bpp:] = up[:, :-bpp]
    estimate = left + up - up_left
    to_left, to_up, to_up_left = np.abs(estimate - left), np.abs(estimate - up), np.abs(estimate - up_left)
    predictor = np.where((to_left <= to_up) & (to_left <= to_up_left), left,
                         np.where(to_up <= to_up_left, up, up_left))
    out = np.empty((rows.shape[0], rows.shape[1] + 1), dtype=np.uint8)
    out[:, 0] = _PAETH
    out[:, 1:] = np.bitwise_and(raw - predictor, 0xFF)  # modulo 256, as the PNG standard wants
    return out


def _chunk(fh: BinaryIO, kind: bytes, body: bytes) -> None:
    fh.write(struct.pack(">I", len(body)))
    fh.write(kind)
    fh.write(body)
    fh.write(struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF))
