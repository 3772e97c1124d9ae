"""The text shown beside each measurement, on screen and in exports alike."""

from __future__ import annotations

import math

import numpy as np

from .annotation import ANGLE, CTR, ELLIPSE, RECTANGLE, RULER, TEXT, Annotation
from .calibration import Calibration
from .geometry import angle_degrees, cardiothoracic_ratio, length, roi_area
from .roi import roi_stats


def _number(value: float) -> str:
    if not math.isfinite(value):
        return "–"
    return f"{value:.0f}" if float(value).is_integer() or abs(value) >= 1000 else f"{value:.1f}"


def _length(value: float, cal: Calibration) -> str:
    return f"{value:.1f} {cal.unit}" if cal.calibrated else f"{value:.0f} {cal.unit}"


def _with_note(text: str, note: str) -> str:
    return f"{text} ({note})" if note else text


def ruler_label(a: Annotation, cal: Calibration) -> str:
    return _with_note(_length(length(*a.points, cal), cal), cal.note)


def angle_label(a: Annotation, cal: Calibration) -> str:
    return f"{angle_degrees(*a.points, cal):.1f}°"


def ctr_label(a: Annotation, cal: Calibration) -> str:
    ratio, cardiac, thoracic = cardiothoracic_ratio(a.points, cal)
    shown = f"{ratio:.2f}" if math.isfinite(ratio) else "–"
    spans = f"cardiac {_length(cardiac, cal)} / thoracic {_length(thoracic, cal)}"
    return f"CTR {shown}\n{_with_note(spans, cal.detector_note)}"


def roi_label(a: Annotation, cal: Calibration, pixels: np.ndarray | None) -> str:
    ellipse = a.kind == ELLIPSE
    area = roi_area(ellipse, *a.points, cal)
    lines = []
    if pixels is not None:
        s = roi_stats(pixels, ellipse, *a.points)
        lines += [f"mean {_number(s.mean)}  SD {_number(s.sd)}",
                  f"min {_number(s.minimum)}  max {_number(s.maximum)}"]
    lines.append(_with_note(f"area {area:.1f} {cal.area_unit}" if cal.calibrated
                            else f"area {area:.0f} {cal.area_unit}", cal.detector_note))
    return "\n".join(lines)


def label(a: Annotation, cal: Calibration, pixels: np.ndarray | None = None) -> str:
    """'' while the annotation is still being drawn, and for an arrow."""
    if not a.complete:
        return ""
    if a.kind == RULER:
        return ruler_label(a, cal)
    if a.kind == ANGLE:
        return angle_label(a, cal)
    if a.kind == CTR:
        return ctr_label(a, cal)
    if a.kind in (ELLIPSE, RECTANGLE):
        return roi_label(a, cal, pixels)
    return a.text if a.kind == TEXT else ""
