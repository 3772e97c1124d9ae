"""Where a measurement's label goes: beside the shape, on the side away from the image's
vertical midline (on a chest film, out over the lateral lung and soft tissue rather than
over the mediastinum), and for a CTR below its lower span."""

from __future__ import annotations

from dataclasses import dataclass

from .annotation import ANGLE, CTR, ELLIPSE, RECTANGLE, TEXT, Annotation
from .geometry import box


@dataclass(frozen=True)
class Placement:
    x: float
    y: float
    # Which point of the label's box sits at (x, y), as fractions of its size:
    # (0, 0) its top-left, (1, 0.5) the middle of its right side (so it extends leftwards).
    anchor: tuple[float, float]


_GAP = 0.04  # of the label's size: a little air between shape and text


def place(a: Annotation, image_width: int) -> Placement:
    pts = a.points
    mid = image_width / 2.0
    if a.kind == TEXT:
        return Placement(*pts[0], (-_GAP, 0.5))
    if a.kind == CTR:
        xs = [p[0] for p in pts]
        return Placement((min(xs) + max(xs)) / 2, max(p[1] for p in pts), (0.5, -0.25))
    if a.kind in (ELLIPSE, RECTANGLE):
        left, top, width, _ = box(*pts)
        if left + width / 2 < mid:
            return Placement(left, top, (1 + _GAP, 0.0))
        return Placement(left + width, top, (-_GAP, 0.0))
    point = pts[1] if a.kind == ANGLE else max(pts, key=lambda p: abs(p[0] - mid))
    return Placement(*point, (1 + _GAP, 0.5) if point[0] < mid else (-_GAP, 0.5))
