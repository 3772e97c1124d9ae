"""Read a Deflated Explicit VR Little Endian file without letting it inflate without bound.

pydicom inflates the whole data set of such a file in one ``zlib.decompress`` call:
a 2 MB deflate bomb becomes gigabytes before any header check can run. Here the data
set is inflated in chunks. The first chunk's header (Rows, Columns, samples, frames,
bits) says how large the native pixel data may be, so a bomb is refused once the
data inflates past what its own header declares, and never past the loader's
decoded-size budget.
"""

from __future__ import annotations

import io
import zlib
from pathlib import Path

from pydicom.dataset import Dataset, FileDataset
from pydicom.filereader import _read_file_meta_info, read_dataset, read_preamble
from pydicom.uid import DeflatedExplicitVRLittleEndian

from .errors import CorruptImageError, ImageTooLargeError
from .limits import MAX_DECODED_BYTES, decoded_bytes

CHUNK = 4 * 2**20  # inflated bytes per step; also how much the header peek sees
# Room for everything besides the pixels (overlays at one bit a pixel, icon images,
# private data) beyond what the header's pixel size allows: a fixed 4 MiB plus an
# eighth of the pixels. (64 MiB let a bomb behind a tiny image take 200 MiB.)
FIXED_ALLOWANCE = 4 * 2**20


def allowance(declared: int) -> int:
    return FIXED_ALLOWANCE + declared // 8
_COMPRESSED_READ = 2**20


def is_deflated(path: Path) -> bool:
    """True if the file's meta information names the deflated transfer syntax."""
    try:
        with open(path, "rb") as fp:
            if read_preamble(fp, force=False) is None:
                return False
            meta = _read_file_meta_info(fp)
    except Exception:  # noqa: BLE001 - undecidable here; the normal reader reports the damage
        return False
    return meta.get("TransferSyntaxUID") == DeflatedExplicitVRLittleEndian


def read_deflated(path: Path) -> FileDataset:
    """The file's data set, inflated within budget; ImageTooLargeError for a bomb."""
    with open(path, "rb") as fp:
        preamble = read_preamble(fp, force=False)
        meta = _read_file_meta_info(fp)
        inflated = _inflate_bounded(fp, path)
    try:
        dataset = read_dataset(inflated, is_implicit_VR=False, is_little_endian=True)
    except (EOFError, OSError, ValueError, KeyError, TypeError, OverflowError) as exc:
        raise CorruptImageError(f"{path.name}: deflated DICOM data set is damaged and cannot be read") from exc
    return FileDataset(str(path), dataset, preamble=preamble, file_meta=meta,
                       is_implicit_VR=False, is_little_endian=True)


def _inflate_bounded(fp, path: Path) -> io.BytesIO:
    """The inflated data set, positioned at its start. Chunks go straight into the buffer
    (which grows in place), so the inflated bytes are held once, never twice."""
    inflater = zlib.decompressobj(-zlib.MAX_WBITS)
    out = io.BytesIO()
    limit = MAX_DECODED_BYTES + allowance(MAX_DECODED_BYTES)
    pending = b""
    peeked = False
    while True:
        if not pending:
            pending = fp.read(_COMPRESSED_READ)
            if not pending:
                break
        try:
            out.write(inflater.decompress(pending, CHUNK))
        except zlib.error as exc:
            raise CorruptImageError(f"{path.name}: deflated DICOM data is damaged (zlib: not a valid stream)") \
                from exc
        pending = inflater.unconsumed_tail
        if out.tell() >= CHUNK and not peeked:
            peeked = True  # once: the header sits at the start
            declared = _declared_pixel_bytes(out.getbuffer()[:CHUNK].tobytes())
            if declared is not None:
                limit = min(limit, declared + allowance(declared))
        if out.tell() > limit:
            raise ImageTooLargeError(
                f"{path.name}: deflated DICOM data set inflates to more than {limit / 2**20:,.0f} MiB, "
                "more than its image header declares (a decompression bomb?)")
        if inflater.eof:
            break
    out.seek(0)
    return out


def _declared_pixel_bytes(head: bytes | bytearray) -> int | None:
    """Native pixel bytes the header at the start of ``head`` declares, or None if unreadable."""
    try:
        ds: Dataset = read_dataset(io.BytesIO(bytes(head[:CHUNK])), is_implicit_VR=False, is_little_endian=True,
                                   stop_when=lambda tag, vr, length: int(tag) >= 0x7FE00000)
        rows, cols = int(ds.Rows), int(ds.Columns)
        samples = int(ds.get("SamplesPerPixel") or 1)
        frames = int(ds.get("NumberOfFrames") or 1)
        bits = int(ds.get("BitsAllocated") or 16)
    except Exception:  # noqa: BLE001 - no usable header in the peek: the general budget applies
        return None
    return decoded_bytes(rows, cols, samples, frames, bits)
