"""Decode one frame of a DICOM, turning codec failures into messages people can act on.

Only the frame asked for is decoded: pydicom slices it out of native pixel data and
hands a compressed file's decoder that frame's fragments alone.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
from pydicom.dataset import Dataset
from pydicom.pixels import get_decoder, pixel_array
from pydicom.uid import (
    HTJ2K,
    JPEG2000,
    UID,
    HTJ2KLossless,
    HTJ2KLosslessRPCL,
    JPEG2000Lossless,
    JPEGBaseline8Bit,
    JPEGExtended12Bit,
    RLELossless,
)

from .codestream_check import check_first_frame
from .errors import CorruptImageError, TruncatedImageError, UnsupportedCodecError, safe_uid_name
from .quiet import quiet_warnings

log = logging.getLogger(__name__)

# Plugins that decode a transfer syntax but are not installed with cxrviewer, and why.
_EXTRA_PLUGIN_NOTES = {
    JPEGExtended12Bit: (
        "12-bit JPEG needs the pylibjpeg-libjpeg plugin, which is GPLv3 and therefore "
        "not shipped with cxrviewer; convert the file (e.g. with dcmdjpeg) to read it"
    ),
}
# Decoding plugins in the order we trust them (pylibjpeg-rle is 3x faster than
# pydicom's own RLE decoder). GDCM aborts or crashes the whole process on some
# damaged JPEG 2000 and baseline JPEG streams, so it only sees a syntax when no other
# installed plugin can decode it (a baseline stream Pillow refuses as damaged crashed
# GDCM, found by benchmarks/fuzz_loader.py). Plugins not listed for a syntax are not
# tried while a listed one is installed.
_PLUGIN_PREFERENCE: dict[str, tuple[str, ...]] = {
    JPEG2000: ("pylibjpeg", "pillow"),
    JPEG2000Lossless: ("pylibjpeg", "pillow"),
    HTJ2K: ("pylibjpeg",),
    HTJ2KLossless: ("pylibjpeg",),
    HTJ2KLosslessRPCL: ("pylibjpeg",),
    RLELossless: ("pylibjpeg", "pydicom"),
    JPEGBaseline8Bit: ("pillow", "pylibjpeg"),
    JPEGExtended12Bit: ("pillow", "pylibjpeg"),  # GDCM reads no 12-bit JPEG either
}
_GENERIC_NOTE = "install a pydicom pixel-data plugin that handles it"

_ENCAPSULATED_END = b"\xfe\xff\xdd\xe0\x00\x00\x00\x00"  # Sequence Delimitation Item


def decode_first_frame(ds: Dataset, path: Path) -> np.ndarray:
    return decode_frame(ds, path, 0)


def decode_frame(ds: Dataset, path: Path, index: int) -> np.ndarray:
    """Frame ``index`` (0-based) of the pixel data: (rows, cols) or (rows, cols, samples) for colour.

    YBR data comes back as RGB; palette data as indices (see to_grayscale).
    """
    tsuid = UID(str(ds.file_meta.TransferSyntaxUID))
    first, *fallbacks = _plugins_to_try(tsuid, path)
    check_first_frame(ds, path, tsuid, index)  # GDCM and OpenJPEG must not see a codestream the header contradicts
    try:
        return _decode_with(ds, first, path, index)
    except CorruptImageError:
        raise  # out of memory: another plugin would not fare better
    except Exception as exc:  # noqa: BLE001 - pydicom and its plugins raise many types
        for plugin in fallbacks:
            try:
                return _decode_with(ds, plugin, path, index)
            except Exception:  # noqa: BLE001 - report the preferred plugin's failure
                log.debug("fallback plugin %r failed on %s too", plugin, tsuid.name)
        raise _decode_error(exc, tsuid, path) from exc


def _decode_with(ds: Dataset, plugin: str, path: Path, index: int = 0) -> np.ndarray:
    try:
        with quiet_warnings():
            return pixel_array(ds, index=index, decoding_plugin=plugin)
    except MemoryError as exc:
        raise CorruptImageError(f"{path.name}: not enough memory to decode this image") from exc


def _plugins_to_try(tsuid: UID, path: Path) -> list[str]:
    """Preferred installed plugins in order; [""] lets pydicom try all it has."""
    decoder = _require_decoder(tsuid, path)
    available = set(decoder.available_plugins)
    preferred = [p for p in _PLUGIN_PREFERENCE.get(tsuid, ()) if p in available]
    return preferred or [""]


def _require_decoder(tsuid: UID, path: Path):
    if not tsuid.is_transfer_syntax:
        # Not safe to quote: a damaged header can put any value here, a patient's name included.
        raise UnsupportedCodecError(
            f"{path.name}: the transfer syntax ({safe_uid_name(tsuid)}) is not one cxrviewer knows")
    try:
        decoder = get_decoder(tsuid)
    except NotImplementedError as exc:
        raise UnsupportedCodecError(
            f"{path.name}: pixel data is encoded as {tsuid.name}, which cxrviewer cannot decode"
        ) from exc
    if not decoder.is_available:
        raise UnsupportedCodecError(_codec_message(tsuid, path, decoder.missing_dependencies))
    return decoder


def _codec_message(tsuid: UID, path: Path, missing: list[str] | None = None) -> str:
    note = _EXTRA_PLUGIN_NOTES.get(tsuid)
    if note is None and missing:
        note = "it needs one of: " + "; ".join(missing)
    return (
        f"{path.name}: no installed decoder can read pixel data compressed as "
        f"{safe_uid_name(tsuid)} ({note or _GENERIC_NOTE})"
    )


def _decode_error(exc: Exception, tsuid: UID, path: Path) -> Exception:
    text = str(exc)
    log.debug("decoding %s failed: %s", tsuid.name, type(exc).__name__)
    if "does not support" in text or "no plugins" in text.lower():
        missing = _missing_plugins(tsuid)
        return UnsupportedCodecError(_codec_message(tsuid, path, missing))
    if "less than expected" in text or _encapsulated_and_cut(path, tsuid):
        return TruncatedImageError(f"{path.name}: DICOM pixel data is cut short (file truncated?)")
    return CorruptImageError(f"{path.name}: the {safe_uid_name(tsuid)} pixel data could not be decoded")


def _missing_plugins(tsuid: UID) -> list[str]:
    try:
        return list(get_decoder(tsuid).missing_dependencies)
    except NotImplementedError:
        return []


def _encapsulated_and_cut(path: Path, tsuid: UID) -> bool:
    """Compressed pixel data ends with a Sequence Delimitation Item; a cut file lacks it."""
    if not tsuid.is_encapsulated:
        return False
    try:
        with open(path, "rb") as fh:
            fh.seek(0, 2)
            size = fh.tell()
            fh.seek(max(0, size - 4096))
            tail = fh.read()
    except OSError:
        return False
    return _ENCAPSULATED_END not in tail
