"""The segment table of a DICOM RLE frame (PS3.5 Annex G), checked.

64 bytes: the number of segments (one per byte plane of each sample), then up to 15
offsets. The decoders check it too, but late and with messages of their own (or a
Rust panic); checked here it is one clear refusal before anything is allocated.
"""

from __future__ import annotations

import struct

from .jpeg_header import HeaderProblem

HEADER_BYTES = 64


def read_rle_segments(data: bytes) -> tuple[int, ...]:
    """The segment offsets, each checked to lie inside the frame and after the one before."""
    if len(data) < HEADER_BYTES:
        raise HeaderProblem("RLE frame shorter than its 64-byte header")
    count, *offsets = struct.unpack_from("<16I", data)
    if not 1 <= count <= 15:
        raise HeaderProblem(f"RLE header announces {count} segments")
    used = offsets[:count]
    if used[0] != HEADER_BYTES:
        raise HeaderProblem("the first RLE segment does not follow the header")
    if any(b <= a for a, b in zip(used, used[1:])) or used[-1] >= len(data):
        raise HeaderProblem("RLE segment offsets are out of order or past the end of the frame")
    return tuple(used)
