"""The image and tile size (SIZ segment) of a JPEG 2000 codestream, checked.

OpenJPEG allocates what SIZ announces before it reads any tile: a 96 x 80 image whose
SIZ claims 60000 x 60000 costs gigabytes before the mismatch surfaces. The checks
are the SIZ constraints of ITU-T T.800 Annex A.5.1.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from .jpeg_header import HeaderProblem

SOC_SIZ = b"\xff\x4f\xff\x51"
_JP2_SIGNATURE = b"\x00\x00\x00\x0cjP  \r\n\x87\n"
MAX_TILES = 65535  # Isot is a 16-bit tile index
MAX_DEPTH = 38


@dataclass(frozen=True)
class J2kHeader:
    width: int  # of the image area: Xsiz - XOsiz
    height: int
    components: int
    depths: tuple[int, ...]  # bits per component
    signed: tuple[bool, ...]
    tiles: int


def read_j2k_header(data: bytes) -> J2kHeader:
    start = _codestream_start(data)
    if start + 4 + 38 > len(data):
        raise HeaderProblem("JPEG 2000 size segment cut short")
    (length, _rsiz, xsiz, ysiz, xo, yo, xt, yt, xto, yto, count) = struct.unpack_from(">HHIIIIIIIIH", data, start + 4)
    if count == 0 or length != 38 + 3 * count or start + 4 + length > len(data):
        raise HeaderProblem(f"JPEG 2000 size segment does not fit its {count} component(s)")
    if not (xsiz > xo and ysiz > yo and xt > 0 and yt > 0):
        raise HeaderProblem("JPEG 2000 image or tile size is empty")
    if xto > xo or yto > yo or xto + xt <= xo or yto + yt <= yo:
        raise HeaderProblem("JPEG 2000 tile grid does not cover the image")
    tiles = -(-(xsiz - xto) // xt) * -(-(ysiz - yto) // yt)
    if tiles > MAX_TILES:
        raise HeaderProblem(f"JPEG 2000 codestream announces {tiles} tiles")
    depths, signed = [], []
    for i in range(count):
        ssiz, xr, yr = data[start + 42 + 3 * i : start + 45 + 3 * i]
        depth = (ssiz & 0x7F) + 1
        if depth > MAX_DEPTH or xr == 0 or yr == 0:
            raise HeaderProblem("a JPEG 2000 component has an invalid depth or subsampling")
        depths.append(depth)
        signed.append(bool(ssiz & 0x80))
    return J2kHeader(xsiz - xo, ysiz - yo, count, tuple(depths), tuple(signed), tiles)


def _codestream_start(data: bytes) -> int:
    """Offset of SOC: at the start, or inside a JP2 file's contiguous codestream box."""
    if data.startswith(SOC_SIZ):
        return 0
    if data.startswith(_JP2_SIGNATURE):
        found = data.find(SOC_SIZ)
        if found > 0:
            return found
    raise HeaderProblem("no JPEG 2000 codestream (SOC and SIZ markers) at the start of the frame")
