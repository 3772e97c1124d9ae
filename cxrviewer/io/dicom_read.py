"""Read a DICOM file's data set (pixel data deferred) and check it before decoding."""

from __future__ import annotations

import logging
import struct
from pathlib import Path

import pydicom
from pydicom import config as pydicom_config
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.errors import InvalidDicomError
from pydicom.uid import DeflatedExplicitVRLittleEndian, ExplicitVRBigEndian, ExplicitVRLittleEndian, ImplicitVRLittleEndian

from .dicom_deflate import is_deflated, read_deflated
from .errors import (
    CorruptImageError,
    NoPixelDataError,
    NotAnImageError,
    TruncatedImageError,
    UnsupportedCodecError,
    safe_uid_name,
)
from .limits import check_decoded_bytes, check_size
from .quiet import quiet_warnings

log = logging.getLogger(__name__)

# A viewer must open the imperfect files found in the wild. pydicom's value validation
# would also put element values (patient names among them) into log messages.
pydicom_config.settings.reading_validation_mode = pydicom_config.IGNORE

# Elements larger than this are read only when used, so a huge Pixel Data element is
# not pulled into memory before the header has been checked.
DEFER_SIZE = "256 KB"

PIXEL_DATA_TAGS = (0x7FE00010, 0x7FE00008, 0x7FE00009)  # Pixel, Float, Double Float


# A data set read without preamble must hold one of these to count as DICOM: a forced
# parse of arbitrary bytes can produce a few nonsense elements but not these.
_IDENTIFYING_KEYWORDS = ("SOPClassUID", "Modality", "Rows", "StudyInstanceUID")


def read_dataset(path: Path, bare: bool = False) -> Dataset:
    """The file's data set, ready to decode, or a specific ImageLoadError.

    ``bare``: the file has no preamble and 'DICM' marker, so it is DICOM only if a
    forced parse finds a real data set.
    """
    with quiet_warnings():
        ds = _dcmread(path) if not bare else _dcmread_bare(path)
    _ensure_transfer_syntax(ds, path)
    check_image_header(ds, path)
    return ds


def _dcmread(path: Path) -> Dataset:
    deflated = is_deflated(path)
    try:
        # pydicom would inflate a deflated data set without bound: a bomb's gigabytes.
        ds = read_deflated(path) if deflated else pydicom.dcmread(path, defer_size=DEFER_SIZE, force=True)
    except InvalidDicomError as exc:
        raise NotAnImageError(f"{path.name}: not a valid DICOM file (its header cannot be parsed)") from exc
    except (EOFError, struct.error) as exc:
        raise TruncatedImageError(f"{path.name}: DICOM file ends in the middle of its header") from exc
    except (OSError, ValueError, KeyError, TypeError, OverflowError, MemoryError) as exc:
        # pydicom reports a tag cut in half as OSError; the file itself was readable.
        raise CorruptImageError(
            f"{path.name}: DICOM header is damaged or cut short and cannot be read"
        ) from exc
    if not _has_data_set(ds):
        what = "deflated DICOM data set is empty or cut short" if deflated else _what_was_cut(path)
        raise TruncatedImageError(f"{path.name}: {what}")
    return ds


def _has_data_set(ds: Dataset) -> bool:
    return any(int(tag) > 0x0002FFFF for tag in ds.keys())


def _what_was_cut(path: Path) -> str:
    """pydicom returns an empty data set when compressed pixel data runs into the end
    of the file; reading again without the pixels tells a cut image from a cut header."""
    try:
        header = pydicom.dcmread(path, stop_before_pixels=True, force=True)
    except Exception:  # noqa: BLE001 - only refining the message
        header = None
    if header is not None and "Rows" in header:
        return "DICOM pixel data is cut short (file truncated?)"
    return "DICOM file is cut short (truncated) before its data set"


def _dcmread_bare(path: Path) -> Dataset:
    not_dicom = NotAnImageError(f"{path.name}: not a DICOM, PNG or JPEG image")
    try:
        ds = _dcmread(path)
    except (NotAnImageError, CorruptImageError, TruncatedImageError) as exc:
        raise not_dicom from exc
    if not any(keyword in ds for keyword in _IDENTIFYING_KEYWORDS):
        raise not_dicom
    return ds


def _ensure_transfer_syntax(ds: Dataset, path: Path) -> None:
    """Files without file meta (or without its Transfer Syntax UID) still say how they
    were encoded through the parse; record it so pydicom can decode the pixels."""
    meta = getattr(ds, "file_meta", None)
    if meta is None:
        meta = ds.file_meta = FileMetaDataset()
    if "TransferSyntaxUID" in meta:
        return
    pixel = _pixel_element(ds)
    if pixel is not None and _is_encapsulated(pixel):
        raise UnsupportedCodecError(
            f"{path.name}: pixel data is compressed but the file does not say with which "
            "codec (no Transfer Syntax UID)"
        )
    implicit, little = ds.original_encoding
    if implicit:
        meta.TransferSyntaxUID = ImplicitVRLittleEndian
    else:
        meta.TransferSyntaxUID = ExplicitVRLittleEndian if little else ExplicitVRBigEndian
    log.debug("no Transfer Syntax UID; using %s from the parse", meta.TransferSyntaxUID.name)


def _pixel_element(ds: Dataset):
    for tag in PIXEL_DATA_TAGS:
        if tag in ds:
            return ds.get_item(tag, keep_deferred=True)
    return None


def _is_encapsulated(elem) -> bool:
    length = getattr(elem, "length", None)
    if length is None:  # a converted DataElement
        return bool(elem.is_undefined_length)
    return length == 0xFFFFFFFF


def check_image_header(ds: Dataset, path: Path) -> None:
    """Refuse data sets without an image, with a broken image header, or too large."""
    if _pixel_element(ds) is None:
        if _expects_pixels(ds) or _unparsed_tail(ds, path):
            # pydicom stops quietly where a cut file ends.
            raise TruncatedImageError(f"{path.name}: DICOM file ends before its pixel data")
        sop_class = ds.get("SOPClassUID")
        what = f" (SOP class: {safe_uid_name(sop_class)})" if sop_class else ""
        raise NoPixelDataError(f"{path.name}: DICOM file has no pixel data{what}")
    rows, cols = int_attr(ds, "Rows"), int_attr(ds, "Columns")
    if not rows or not cols:
        raise CorruptImageError(f"{path.name}: DICOM image header gives no Rows/Columns")
    check_size(path, width=cols, height=rows)
    samples = int_attr(ds, "SamplesPerPixel") or 1
    if samples not in (1, 3):
        raise CorruptImageError(f"{path.name}: unsupported Samples per Pixel value {samples}")
    frames = int_attr(ds, "NumberOfFrames") or 1
    check_decoded_bytes(path, rows, cols, samples, frames, int_attr(ds, "BitsAllocated") or 16)


def _expects_pixels(ds: Dataset) -> bool:
    """An image header or an image SOP class: the pixel data should have followed."""
    if "Rows" in ds and "Columns" in ds:
        return True
    sop_class = ds.get("SOPClassUID")
    return bool(sop_class) and "Image Storage" in str(sop_class.name)


def _unparsed_tail(ds: Dataset, path: Path) -> bool:
    """True if bytes follow the last element pydicom read: it gave up on an element
    cut in half. A complete file's last element ends exactly at the end of the file."""
    last = ds.get_item(max(ds.keys()), keep_deferred=True) if len(ds) else None
    value_tell, length = getattr(last, "value_tell", None), getattr(last, "length", None)
    if value_tell is None or length is None or length == 0xFFFFFFFF:
        return False
    if ds.file_meta.get("TransferSyntaxUID") == DeflatedExplicitVRLittleEndian:
        return False  # positions count inflated bytes, not the file's
    try:
        return value_tell + length < path.stat().st_size
    except OSError:
        return False


def int_attr(ds: Dataset, keyword: str) -> int:
    try:
        value = ds.get(keyword)
        return int(value) if value not in (None, "") else 0
    except (TypeError, ValueError):
        return 0
