"""Read a DICOM file's data set (pixel data deferred) and check it before decoding."""

from __future__ import annotations

import logging
import struct
from pathlib import Path

import pydicom
from pydicom import config as pydicom_config
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.errors import InvalidDicomError
from pydicom.uid import ExplicitVRBigEndian, ExplicitVRLittleEndian, ImplicitVRLittleEndian

from .errors import (
    CorruptImageError,
    NoPixelDataError,
    NotAnImageError,
    TruncatedImageError,
    UnsupportedCodecError,
)
from .limits import check_size
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
    try:
        ds = pydicom.dcmread(path, defer_size=DEFER_SIZE, force=True)
    except InvalidDicomError as exc:
        raise NotAnImageError(f"{path.name}: not a valid DICOM file ({exc})") from exc
    except (EOFError, struct.error) as exc:
        raise TruncatedImageError(f"{path.name}: DICOM file ends in the middle of its header") from exc
    except (ValueError, KeyError, TypeError, OverflowError, MemoryError) as exc:
        raise CorruptImageError(f"{path.name}: DICOM header is damaged and cannot be read") from exc
    if not any(int(tag) > 0x0002FFFF for tag in ds.keys()):
        raise NotAnImageError(f"{path.name}: DICOM file holds no data set")
    return ds


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
        sop_class = ds.get("SOPClassUID")
        what = f" (SOP class: {sop_class.name})" if sop_class else ""
        raise NoPixelDataError(f"{path.name}: DICOM file has no pixel data{what}")
    rows, cols = _int_attr(ds, "Rows"), _int_attr(ds, "Columns")
    if not rows or not cols:
        raise CorruptImageError(f"{path.name}: DICOM image header gives no Rows/Columns")
    check_size(path, width=cols, height=rows)
    samples = _int_attr(ds, "SamplesPerPixel") or 1
    if samples not in (1, 3):
        raise CorruptImageError(f"{path.name}: unsupported Samples per Pixel value {samples}")


def _int_attr(ds: Dataset, keyword: str) -> int:
    try:
        value = ds.get(keyword)
        return int(value) if value not in (None, "") else 0
    except (TypeError, ValueError):
        return 0
