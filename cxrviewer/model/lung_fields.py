"""From a lung-field probability map to a verdict: which pixels are lung, and is it a chest at all.

Pure numpy/OpenCV (no torch), so the plausibility rules can be tested on drawn masks.
A chest X-ray has two lung fields side by side, each a sizeable, compact region,
found with confidence. A hip, a skull or a dental panoramic rarely gives that: the
network either finds nothing, one blob, or an unsure smear. "Not found" is one more
signal for the "not a chest X-ray" warning, never a diagnosis.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from .preprocess import Geometry

THRESHOLD = 0.5
MIN_FIELD = 0.03  # each lung covers at least 3 % of the image content
MAX_TOTAL = 0.75  # both together never the whole image
MIN_CONFIDENCE = 0.80  # mean probability inside the kept fields
MAX_TILT_DEG = 35.0  # the line through the two centres is near horizontal
MIN_VERTICAL_OVERLAP = 0.5  # of the shorter field's height


@dataclass(frozen=True)
class LungFields:
    """The verdict on one image, at the resolution of the map it was computed from."""

    mask: np.ndarray  # bool (H, W): the (at most two) kept lung fields
    found: bool  # a plausible pair of lungs
    area_fraction: float  # kept lung area / image content area
    confidence: float  # mean probability inside the kept fields (0 when empty)
    reason: str  # why not found ("" when found)

    @property
    def box(self) -> tuple[int, int, int, int] | None:
        return mask_box(self.mask)


def mask_box(mask: np.ndarray) -> tuple[int, int, int, int] | None:
    """(x0, y0, x1, y1), x1/y1 exclusive, around the True pixels of ``mask``; None when there are none."""
    ys, xs = np.nonzero(mask)
    if xs.size == 0:
        return None
    return (int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1)


def judge_lung_fields(probability: np.ndarray, content: np.ndarray | None = None) -> LungFields:
    """Keep the two largest confident regions of ``probability`` (H, W in [0, 1]) and judge them.

    ``content`` (bool, same shape) marks the real image (letterbox padding excluded);
    areas are fractions of it.
    """
    content_area = float(content.sum()) if content is not None else float(probability.size)
    binary = (probability > THRESHOLD).astype(np.uint8)
    if content is not None:
        binary &= content.astype(np.uint8)
    count, labels, stats, centroids = cv2.connectedComponentsWithStats(binary, connectivity=8)
    order = sorted(range(1, count), key=lambda i: stats[i, cv2.CC_STAT_AREA], reverse=True)[:2]
    mask = np.isin(labels, order) if order else np.zeros(probability.shape, dtype=bool)
    area = float(mask.sum()) / max(content_area, 1.0)
    confidence = float(probability[mask].mean()) if mask.any() else 0.0
    reason = _implausible(order, stats, centroids, content_area, area, confidence)
    return LungFields(mask=mask, found=not reason, area_fraction=area, confidence=confidence, reason=reason)


def _implausible(order: list[int], stats: np.ndarray, centroids: np.ndarray, content_area: float,
                 area: float, confidence: float) -> str:
    if len(order) < 2:
        return "no pair of lung fields found"
    if any(stats[i, cv2.CC_STAT_AREA] < MIN_FIELD * content_area for i in order):
        return "one lung field is too small"
    if area > MAX_TOTAL:
        return "the lung fields cover almost the whole image"
    if confidence < MIN_CONFIDENCE:
        return "the lung fields are uncertain"
    a, b = (centroids[i] for i in order)
    tilt = math.degrees(math.atan2(abs(b[1] - a[1]), abs(b[0] - a[0]) + 1e-9))
    if tilt > MAX_TILT_DEG:
        return "the two fields are not side by side (rotated image?)"
    if _vertical_overlap(stats[order[0]], stats[order[1]]) < MIN_VERTICAL_OVERLAP:
        return "the two fields are not at the same height"
    return ""


def _vertical_overlap(a: np.ndarray, b: np.ndarray) -> float:
    top = max(a[cv2.CC_STAT_TOP], b[cv2.CC_STAT_TOP])
    bottom = min(a[cv2.CC_STAT_TOP] + a[cv2.CC_STAT_HEIGHT], b[cv2.CC_STAT_TOP] + b[cv2.CC_STAT_HEIGHT])
    shorter = min(a[cv2.CC_STAT_HEIGHT], b[cv2.CC_STAT_HEIGHT])
    return max(0, bottom - top) / max(shorter, 1)


def dice(a: np.ndarray, b: np.ndarray) -> float:
    """Dice overlap of two boolean masks (1.0 when both are empty)."""
    a, b = a.astype(bool), b.astype(bool)
    total = int(a.sum()) + int(b.sum())
    return 1.0 if total == 0 else 2.0 * int((a & b).sum()) / total


def mass_inside(heat: np.ndarray, mask: np.ndarray) -> float:
    """Share of a non-negative map's total mass that lies inside ``mask`` (0 for an empty map)."""
    # Summed in float64 without a float64 copy: on a 16384-px film that copy would be 2 GiB.
    heat = np.asarray(heat)
    total = float(heat.sum(dtype=np.float64))
    if total <= 0:
        return 0.0
    return float(np.sum(heat, where=np.asarray(mask, dtype=bool), dtype=np.float64)) / total


@dataclass(frozen=True)
class LungResult:
    """Lung fields of one image, on the image's own pixel grid."""

    mask: np.ndarray  # bool (H, W), aligned with LoadedImage.pixels
    found: bool
    area_fraction: float
    confidence: float
    reason: str
    model_fields: LungFields  # the same verdict on the model input grid
    geometry: Geometry

    @property
    def box(self) -> tuple[int, int, int, int] | None:
        return mask_box(self.mask)


def lung_result(probability: np.ndarray, geometry: Geometry) -> LungResult:
    """Judge a model-grid probability map and carry the kept fields back to the source image."""
    content = np.zeros(probability.shape, dtype=bool)
    x0, y0, x1, y1 = geometry.content_box
    content[y0:y1, x0:x1] = True
    fields = judge_lung_fields(probability, content)
    full = geometry.mask_to_source(fields.mask)
    return LungResult(
        mask=full,
        found=fields.found,
        area_fraction=fields.area_fraction,
        confidence=fields.confidence,
        reason=fields.reason,
        model_fields=fields,
        geometry=geometry,
    )
