"""DICOM stored values to float32 on the file's scale: colour to gray, the Modality LUT.

MONOCHROME1 (white = low values) is only reported (``shows_inverted``): the values
stay as the Modality LUT makes them and the display inverts after the window, as the
standard orders (Modality LUT, VOI, then Presentation LUT).
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


def modality_values(ds: Dataset, frame: np.ndarray) -> np.ndarray:
    """Apply the Modality LUT (sequence or rescale) and return the values as float32."""
    try:
        if _has_modality_lut_sequence(ds):
            with quiet_warnings():
                values = apply_modality_lut(frame, ds)
        else:
            values = _rescaled(ds, frame)
    except (ValueError, TypeError, KeyError, AttributeError, IndexError):
        # A broken rescale or LUT must not hide the image: show the stored values.
        log.warning("ignoring an unreadable Modality LUT / rescale")
        values = frame
    return np.asarray(values, dtype=np.float32)


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
