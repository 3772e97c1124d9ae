"""DICOM stored values to display-ready float32: colour to gray, Modality LUT, MONOCHROME1.

MONOCHROME1 (white = low values) is resolved by mirroring the modality values about
the middle of their possible range. The loader mirrors the file's window centers the
same way, so windowing the mirrored values shows exactly what windowing the stored
values and then inverting (as the standard orders: Modality LUT, VOI, then invert)
would show.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
from pydicom.dataset import Dataset
from pydicom.pixels import apply_color_lut, apply_modality_lut

from .errors import CorruptImageError
from .quiet import quiet_warnings

log = logging.getLogger(__name__)

# ITU-R BT.601 luma, as Pillow and most viewers use for colour to gray.
LUMA_WEIGHTS = np.array([0.299, 0.587, 0.114], dtype=np.float32)

COLOR_PHOTOMETRICS = ("RGB", "YBR_FULL", "YBR_FULL_422", "YBR_RCT", "YBR_ICT", "PALETTE COLOR")


def photometric_of(ds: Dataset) -> str:
    return str(ds.get("PhotometricInterpretation", "MONOCHROME2") or "MONOCHROME2").strip()


def shows_inverted(ds: Dataset) -> bool:
    """True if low values are to be shown white.

    MONOCHROME1 says so, as does a MONOCHROME2 image whose Presentation LUT Shape is
    INVERSE. (For MONOCHROME1 the DX/CR IODs pair it with INVERSE: one inversion, not two.)
    """
    photometric = photometric_of(ds)
    if photometric == "MONOCHROME1":
        return True
    shape = str(ds.get("PresentationLUTShape", "")).strip().upper()
    return photometric == "MONOCHROME2" and shape == "INVERSE"


def is_color(ds: Dataset, frame: np.ndarray) -> bool:
    return frame.ndim == 3 or photometric_of(ds) in COLOR_PHOTOMETRICS


def color_to_gray(ds: Dataset, frame: np.ndarray, path: Path) -> np.ndarray:
    """Luma of an RGB (YBR already converted by pydicom) or palette colour frame."""
    if photometric_of(ds) == "PALETTE COLOR":
        try:
            with quiet_warnings():
                frame = apply_color_lut(frame, ds)
        except (ValueError, KeyError, AttributeError, IndexError) as exc:
            raise CorruptImageError(f"{path.name}: palette colour image has a broken palette") from exc
    if frame.ndim != 3 or frame.shape[-1] != 3:
        raise CorruptImageError(f"{path.name}: colour image does not have 3 samples per pixel")
    return frame.astype(np.float32) @ LUMA_WEIGHTS


def modality_values(ds: Dataset, frame: np.ndarray) -> tuple[np.ndarray, tuple[float, float]]:
    """Apply the Modality LUT (sequence or rescale) and return the values as float32
    together with the range the Modality LUT can produce for this file."""
    try:
        if _has_modality_lut_sequence(ds):
            with quiet_warnings():
                values = apply_modality_lut(frame, ds)
        else:
            values = _rescaled(ds, frame)
        value_range = _modality_range(ds, frame)
    except (ValueError, TypeError, KeyError, AttributeError, IndexError):
        # A broken rescale or LUT must not hide the image: show the stored values.
        log.warning("ignoring an unreadable Modality LUT / rescale")
        values = frame
        value_range = _stored_range(ds, frame)
    return np.asarray(values, dtype=np.float32), value_range


def _has_modality_lut_sequence(ds: Dataset) -> bool:
    return "ModalityLUTSequence" in ds and len(ds.ModalityLUTSequence) > 0


def _rescale(ds: Dataset) -> tuple[float, float]:
    slope = float(ds.get("RescaleSlope", 1) or 1)
    intercept = float(ds.get("RescaleIntercept", 0) or 0)
    return slope, intercept


def _rescaled(ds: Dataset, frame: np.ndarray) -> np.ndarray:
    """Rescale Slope/Intercept in float32 in place (pydicom's float64 doubles the peak
    memory of a large image)."""
    slope, intercept = _rescale(ds)
    values = frame.astype(np.float32)
    if slope != 1:
        values *= np.float32(slope)
    if intercept != 0:
        values += np.float32(intercept)
    return values


def _modality_range(ds: Dataset, frame: np.ndarray) -> tuple[float, float]:
    if _has_modality_lut_sequence(ds):
        lut = ds.ModalityLUTSequence[0]
        identity = np.arange(int(lut.LUTDescriptor[0] or 65536), dtype=np.float64)
        identity += int(lut.LUTDescriptor[1])
        with quiet_warnings():
            out = apply_modality_lut(identity.astype(np.int64), ds)
        return float(np.min(out)), float(np.max(out))
    low, high = _stored_range(ds, frame)
    slope, intercept = _rescale(ds)
    ends = sorted((low * slope + intercept, high * slope + intercept))
    return ends[0], ends[1]


def _stored_range(ds: Dataset, frame: np.ndarray) -> tuple[float, float]:
    """The values BitsStored / Pixel Representation allow (actual range for float data)."""
    if frame.dtype.kind == "f":
        return float(np.nanmin(frame)), float(np.nanmax(frame))
    bits = int(ds.get("BitsStored", 0) or 0) or frame.dtype.itemsize * 8
    if int(ds.get("PixelRepresentation", 0) or 0) == 1:
        return float(-(2 ** (bits - 1))), float(2 ** (bits - 1) - 1)
    return 0.0, float(2**bits - 1)


def mirror(values: np.ndarray, value_range: tuple[float, float]) -> np.ndarray:
    """Reflect values about the middle of their range: low becomes high."""
    return np.float32(value_range[0] + value_range[1]) - values
