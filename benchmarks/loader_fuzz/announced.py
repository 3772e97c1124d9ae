"""How many samples a mutant's header announces (rows x columns x samples).

A file the loader refuses may rightly have allocated what its header announced before
the data ran out; its memory budget counts that. Only the file's own header counts
(DICOM Rows/Columns, PNG IHDR, JPEG SOF), not a codestream inside a DICOM file that
claims more: believing that is the hazard the budget is there to catch.
"""

from __future__ import annotations

import io
import struct

import pydicom

from .codestreams import JPEG_SOF, jpeg_segments
from .dicom_bytes import DEFLATED as _DEFLATED_UID

DEFLATED = _DEFLATED_UID.encode()

_PNG_CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}


def announced_samples(data: bytes, kind: str) -> int:
    try:
        if kind == "png":
            width, height, _depth, color = struct.unpack_from(">IIBB", data, 16)
            return width * height * _PNG_CHANNELS.get(color, 4)
        if kind == "jpeg":
            return _jpeg(data)
        return _dicom(data)
    except Exception:  # noqa: BLE001 - an unreadable header announces nothing
        return 0


def _jpeg(data: bytes) -> int:
    for segment in jpeg_segments(data):
        if segment.marker in JPEG_SOF:
            height, width, components = struct.unpack_from(">HHB", data, segment.start + 5)
            return height * width * components
    return 0


def _dicom(data: bytes) -> int:
    if DEFLATED in data[:1024]:
        return 0  # pydicom would inflate a deflate bomb here, in the fuzzer's own process
    ds = pydicom.dcmread(io.BytesIO(data), stop_before_pixels=True, force=True, defer_size=1024)
    rows, cols = int(ds.get("Rows") or 0), int(ds.get("Columns") or 0)
    return rows * cols * max(int(ds.get("SamplesPerPixel") or 1), 1)
