"""Lengths, angles, the cardiothoracic ratio and ROI areas, in the calibration's units."""

from __future__ import annotations

import math

from .annotation import Point
from .calibration import Calibration


def length(p0: Point, p1: Point, cal: Calibration) -> float:
    sx, sy = cal.scale()
    return math.hypot((p1[0] - p0[0]) * sx, (p1[1] - p0[1]) * sy)


def angle_degrees(a: Point, vertex: Point, b: Point, cal: Calibration) -> float:
    """The angle at ``vertex`` between its arms to a and b, 0-180°, in real space: with
    unequal row and column spacing, the angle on the patient differs from the one in pixels."""
    sx, sy = cal.scale()
    ux, uy = (a[0] - vertex[0]) * sx, (a[1] - vertex[1]) * sy
    vx, vy = (b[0] - vertex[0]) * sx, (b[1] - vertex[1]) * sy
    if (ux == 0 and uy == 0) or (vx == 0 and vy == 0):
        return 0.0
    return math.degrees(abs(math.atan2(ux * vy - uy * vx, ux * vx + uy * vy)))


def horizontal_span(p0: Point, p1: Point, cal: Calibration) -> float:
    """Width between two points along the image rows (a CTR span is horizontal by definition)."""
    return abs(p1[0] - p0[0]) * cal.scale()[0]


def cardiothoracic_ratio(points: tuple[Point, ...], cal: Calibration) -> tuple[float, float, float]:
    """(ratio, cardiac width, thoracic width) from thoracic points 0-1 and cardiac points 2-3.
    The ratio is nan for a thoracic width of zero."""
    thoracic = horizontal_span(points[0], points[1], cal)
    cardiac = horizontal_span(points[2], points[3], cal)
    return (cardiac / thoracic if thoracic > 0 else math.nan), cardiac, thoracic


def box(p0: Point, p1: Point) -> tuple[float, float, float, float]:
    """(left, top, width, height) of the box two opposite corners span."""
    left, top = min(p0[0], p1[0]), min(p0[1], p1[1])
    return left, top, abs(p1[0] - p0[0]), abs(p1[1] - p0[1])


def roi_area(kind_is_ellipse: bool, p0: Point, p1: Point, cal: Calibration) -> float:
    """The drawn shape's area (not its pixel count) in mm², or px² without spacing."""
    _, _, width, height = box(p0, p1)
    sx, sy = cal.scale()
    area = width * sx * height * sy
    return area * math.pi / 4.0 if kind_is_ellipse else area
