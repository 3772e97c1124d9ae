"""The patient directions of a DICOM image's rows and columns (for the viewer's edge letters)."""

from __future__ import annotations

import logging

import numpy as np
from pydicom.dataset import Dataset

from cxrviewer.imaging.patient_orientation import Vector, vector_from_letters

log = logging.getLogger(__name__)


def patient_axes(ds: Dataset) -> tuple[Vector, Vector] | None:
    """(row direction, column direction) as LPS unit vectors, or None when the file gives neither
    a usable Image Orientation (Patient) nor Patient Orientation. The cosines win when both exist."""
    return _from_cosines(ds.get("ImageOrientationPatient")) or _from_letters(ds.get("PatientOrientation"))


def _from_cosines(value) -> tuple[Vector, Vector] | None:
    try:
        cosines = np.array([float(v) for v in value], dtype=float)
    except (TypeError, ValueError):
        return None
    if cosines.shape != (6,) or not np.isfinite(cosines).all():
        return None
    row, col = cosines[:3], cosines[3:]
    if min(np.linalg.norm(row), np.linalg.norm(col)) < 0.5:
        log.debug("ignoring an Image Orientation (Patient) that is not two unit vectors")
        return None
    row, col = row / np.linalg.norm(row), col / np.linalg.norm(col)
    return tuple(float(v) for v in row), tuple(float(v) for v in col)


def _from_letters(value) -> tuple[Vector, Vector] | None:
    if value is None or isinstance(value, str):
        values = str(value or "").split("\\")
    else:
        values = [str(v) for v in value]
    if len(values) != 2:
        return None
    row, col = (vector_from_letters(v) for v in values)
    return (row, col) if row is not None and col is not None else None
