"""Check a compressed DICOM image's first frame against its image header before any decoder runs.

GDCM aborts or crashes the whole process, and OpenJPEG allocates what its codestream
announces, when the codestream and the DICOM header disagree (Rows 8192 over a
96 x 80 JPEG-LS frame, 32-bit pixels over 16-bit JPEG, a restart marker where a
Huffman table belongs). Such a file is damaged either way: refusing it here turns a
decoder crash, and the fresh decoder process it costs, into one CorruptImageError.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pydicom.dataset import Dataset
from pydicom.encaps import get_frame
from pydicom.uid import (
    HTJ2K,
    JPEG2000,
    UID,
    HTJ2KLossless,
    HTJ2KLosslessRPCL,
    JPEG2000Lossless,
    JPEGBaseline8Bit,
    JPEGExtended12Bit,
    JPEGLossless,
    JPEGLosslessSV1,
    JPEGLSLossless,
    JPEGLSNearLossless,
    RLELossless,
)

from .dicom_read import int_attr
from .errors import CorruptImageError
from .j2k_header import read_j2k_header
from .jpeg_header import SOF55, HeaderProblem, JpegHeader, read_jpeg_header
from .rle_header import read_rle_segments

_LOSSLESS_JPEG = frozenset({JPEGLossless, JPEGLosslessSV1})  # decoded by GDCM only
_JPEG_LS = frozenset({JPEGLSLossless, JPEGLSNearLossless})  # decoded by GDCM only
_LOSSY_JPEG = {JPEGBaseline8Bit: (8,), JPEGExtended12Bit: (8, 12)}  # decoded by Pillow; allowed precisions
_J2K = frozenset({JPEG2000Lossless, JPEG2000, HTJ2KLossless, HTJ2KLosslessRPCL, HTJ2K})
_SHORT_NAMES = {**dict.fromkeys(_LOSSLESS_JPEG, "lossless JPEG"), **dict.fromkeys(_JPEG_LS, "JPEG-LS"),
                **dict.fromkeys(_LOSSY_JPEG, "JPEG"), **dict.fromkeys(_J2K, "JPEG 2000"), RLELossless: "RLE"}


@dataclass(frozen=True)
class ImageHeader:
    rows: int
    columns: int
    samples: int
    bits_allocated: int
    frames: int


def check_first_frame(ds: Dataset, path: Path, tsuid: UID, index: int = 0) -> None:
    """Raise CorruptImageError if the codestream header of frame ``index`` (0: the first) is
    malformed or disagrees with the image header."""
    check = _check_for(tsuid)
    if check is None:
        return
    header = _image_header(ds)
    frame = _first_frame(ds, header.frames, index)
    if frame is None:
        return  # pydicom fails on these fragments the same way, before any decoder runs
    codec = _SHORT_NAMES[tsuid]
    try:
        mismatch = check(frame, header, tsuid)
    except HeaderProblem as exc:
        raise CorruptImageError(f"{path.name}: the {codec} pixel data is damaged ({exc})") from None
    if mismatch:
        raise CorruptImageError(f"{path.name}: the {codec} pixel data does not match the image header ({mismatch})")


def _check_for(tsuid: UID):
    if tsuid in _LOSSLESS_JPEG or tsuid in _JPEG_LS or tsuid in _LOSSY_JPEG:
        return _jpeg_mismatch
    if tsuid in _J2K:
        return _j2k_mismatch
    if tsuid == RLELossless:
        return _rle_mismatch
    return None


def _image_header(ds: Dataset) -> ImageHeader:
    return ImageHeader(int_attr(ds, "Rows"), int_attr(ds, "Columns"), int_attr(ds, "SamplesPerPixel") or 1,
                       int_attr(ds, "BitsAllocated"), int_attr(ds, "NumberOfFrames") or 1)


def _first_frame(ds: Dataset, frames: int, index: int = 0) -> bytes | None:
    """Frame ``index`` as pydicom's decoders will get it (offset tables and fragment joining alike)."""
    offsets = None
    if "ExtendedOffsetTable" in ds and "ExtendedOffsetTableLengths" in ds:
        table, lengths = ds.ExtendedOffsetTable, ds.ExtendedOffsetTableLengths
        offsets = (table, lengths) if len(table) == len(lengths) else None  # pydicom ignores a mismatched pair
    try:
        return get_frame(ds.PixelData, index, number_of_frames=frames, extended_offsets=offsets)
    except Exception:  # noqa: BLE001 - malformed fragments: pydicom raises again when decoding
        return None


def _geometry_mismatch(width: int, height: int, components: int, header: ImageHeader) -> str:
    if (width, height) != (header.columns, header.rows):
        return f"the codestream is {width} x {height} pixels, the header says {header.columns} x {header.rows}"
    if components != header.samples:
        return f"the codestream has {components} component(s), the header {header.samples} sample(s) per pixel"
    return ""


def _jpeg_mismatch(frame: bytes, header: ImageHeader, tsuid: UID) -> str:
    jpeg = read_jpeg_header(frame)
    geometry = _geometry_mismatch(jpeg.width, jpeg.height, len(jpeg.components), header)
    if geometry:
        return geometry
    if tsuid in _LOSSY_JPEG:
        allowed = _LOSSY_JPEG[tsuid]
        return "" if jpeg.precision in allowed else f"{jpeg.precision}-bit samples in lossy JPEG"
    return _gdcm_jpeg_mismatch(jpeg, header, tsuid)


def _gdcm_jpeg_mismatch(jpeg: JpegHeader, header: ImageHeader, tsuid: UID) -> str:
    """Lossless JPEG and JPEG-LS go to GDCM, which aborts on what it does not expect."""
    expected = SOF55 if tsuid in _JPEG_LS else 0xC3
    if jpeg.frame_marker != expected:
        return f"frame type FF{jpeg.frame_marker:02X} where the transfer syntax needs FF{expected:02X}"
    precision = jpeg.precision
    if not 2 <= precision <= 16 or header.bits_allocated not in (8, 16) or precision > header.bits_allocated:
        return f"{precision}-bit samples in {header.bits_allocated}-bit pixels"
    if tsuid in _JPEG_LS:
        return "" if jpeg.se <= 2 and jpeg.al < precision else "invalid JPEG-LS interleave mode or point transform"
    if not 1 <= jpeg.ss <= 7 or jpeg.se != 0 or jpeg.ah != 0 or jpeg.al >= precision:
        return "invalid lossless JPEG predictor or point transform"
    if any(table not in jpeg.dc_tables for _, table, _ in jpeg.scan_components):
        return "the scan uses a Huffman table the header does not define"
    return ""


def _j2k_mismatch(frame: bytes, header: ImageHeader, tsuid: UID) -> str:
    j2k = read_j2k_header(frame)
    geometry = _geometry_mismatch(j2k.width, j2k.height, j2k.components, header)
    if geometry:
        return geometry
    depth = max(j2k.depths)
    if depth > max(header.bits_allocated, 8):
        return f"{depth}-bit samples in {header.bits_allocated}-bit pixels"
    return ""


def _rle_mismatch(frame: bytes, header: ImageHeader, tsuid: UID) -> str:
    segments = read_rle_segments(frame)
    if header.bits_allocated not in (8, 16, 32):
        return f"RLE of {header.bits_allocated}-bit pixels"
    expected = header.samples * header.bits_allocated // 8
    if len(segments) != expected:
        return (f"{len(segments)} RLE segments where {header.samples} sample(s) of "
                f"{header.bits_allocated} bits need {expected}")
    return ""
