"""The headers of the codestreams a decoder reads first: JPEG and JPEG-LS segments,
the JPEG 2000 main header, the RLE segment table. Fields as (offset, size) from the
segment's marker, big endian (RLE: little endian), so a mutator can change one."""

from __future__ import annotations

import struct
from dataclasses import dataclass

JPEG_SOF = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC} | {0xF7}  # F7: JPEG-LS SOF55
J2K_SOC = b"\xff\x4f"
JP2_SIGNATURE = b"\x00\x00\x00\x0cjP  "
# JPEG 2000 main header segments: field name -> (offset from the marker, size)
J2K_FIELDS = {
    0x51: {"Rsiz": (4, 2), "Xsiz": (6, 4), "Ysiz": (10, 4), "XOsiz": (14, 4), "YOsiz": (18, 4),
           "XTsiz": (22, 4), "YTsiz": (26, 4), "XTOsiz": (30, 4), "YTOsiz": (34, 4), "Csiz": (38, 2),
           "Ssiz": (40, 1), "XRsiz": (41, 1), "YRsiz": (42, 1)},
    0x52: {"Scod": (4, 1), "order": (5, 1), "layers": (6, 2), "mct": (8, 1), "levels": (9, 1),
           "xcb": (10, 1), "ycb": (11, 1), "cbstyle": (12, 1), "transform": (13, 1)},
    0x5C: {"Sqcd": (4, 1), "SPqcd": (5, 2)},
    0x90: {"Isot": (4, 2), "Psot": (6, 4), "TPsot": (10, 1), "TNsot": (11, 1)},
}
# JPEG segments: field name -> (offset from the 0xFF, size)
JPEG_FIELDS = {
    "SOF": {"P": (4, 1), "Y": (5, 2), "X": (7, 2), "Nf": (9, 1), "C1": (10, 1), "HV1": (11, 1),
            "Tq1": (12, 1), "HV2": (14, 1)},
    0xDA: {"Ns": (4, 1), "Cs1": (5, 1), "TdTa1": (6, 1), "Ss": (7, 1), "Se": (8, 1), "AhAl": (9, 1)},
    0xC4: {"TcTh": (4, 1), **{f"L{i}": (4 + i, 1) for i in range(1, 17)}},
    0xDB: {"PqTq": (4, 1), "Q0": (5, 1)},
    0xDD: {"Ri": (4, 2)},
    0xF8: {"ID": (4, 1), "MAXVAL": (5, 2), "T1": (7, 2), "T2": (9, 2), "T3": (11, 2), "RESET": (13, 2)},
}
JPEG_EXTRA = {"P": (2, 7, 8, 12, 16, 17), "Nf": (3, 4), "HV1": (0x11, 0x22, 0x44, 0x12, 0x00), "Ss": (1, 7, 8),
              "Se": (63, 64, 3), "AhAl": (0x0F, 0xF0, 0x01), "Ns": (3, 4), "ID": (1, 2, 3, 4)}


@dataclass(frozen=True)
class Segment:
    marker: int  # the byte after 0xFF
    start: int  # offset of the 0xFF
    length: int  # the segment's length field (it counts itself), 0 for bare markers


def jpeg_segments(data: bytes, start: int = 0) -> list[Segment]:
    """Segments from SOI up to and including the first SOS (JPEG and JPEG-LS alike)."""
    if data[start : start + 2] != b"\xff\xd8":
        return []
    out, pos = [Segment(0xD8, start, 0)], start + 2
    while pos + 4 <= len(data) and data[pos] == 0xFF:
        marker = data[pos + 1]
        if marker == 0xFF:
            pos += 1
            continue
        if marker in (0x01, *range(0xD0, 0xD9)):
            out.append(Segment(marker, pos, 0))
            pos += 2
            continue
        (length,) = struct.unpack_from(">H", data, pos + 2)
        out.append(Segment(marker, pos, length))
        if marker == 0xDA:
            break
        pos += 2 + length
    return out


def jpeg_fields(segment: Segment) -> dict[str, tuple[int, int]]:
    key = "SOF" if segment.marker in JPEG_SOF else segment.marker
    return JPEG_FIELDS.get(key, {})


def j2k_start(data: bytes) -> int:
    """Offset of the JPEG 2000 codestream (SOC), inside a JP2 box file too; -1 if none."""
    if data.startswith(J2K_SOC):
        return 0
    if data.startswith(JP2_SIGNATURE):
        return data.find(J2K_SOC + b"\xff\x51")
    return -1


def j2k_segments(data: bytes, start: int) -> list[Segment]:
    """Main header segments after SOC, up to and including the first SOT."""
    out, pos = [Segment(0x4F, start, 0)], start + 2
    while pos + 4 <= len(data) and data[pos] == 0xFF:
        marker = data[pos + 1]
        (length,) = struct.unpack_from(">H", data, pos + 2)
        out.append(Segment(marker, pos, length))
        if marker == 0x90:
            break
        pos += 2 + length
    return out


def looks_like_rle(data: bytes) -> bool:
    """An RLE fragment starts with a 64-byte table: segment count (1-15), then offsets."""
    if len(data) < 64:
        return False
    count, first = struct.unpack_from("<II", data, 0)
    return 1 <= count <= 15 and first == 64


def rle_fields(data: bytes) -> dict[str, tuple[int, int]]:
    return {"segments": (0, 4), **{f"offset{i}": (4 * i, 4) for i in range(1, 16)}}
