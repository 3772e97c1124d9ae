"""Which pixels an ellipse or rectangle holds, and their statistics on the file's own scale.

A pixel belongs to the ROI when its centre (c + 0.5, r + 0.5) lies inside the shape,
the convention of most viewers; the statistics are of LoadedImage.pixels, the stored
values through the Modality LUT, so they read as the header and other viewers do.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .annotation import Point
from .geometry import box


@dataclass(frozen=True)
class RoiStats:
    count: int  # pixels inside
    mean: float = math.nan
    sd: float = math.nan  # population SD (ddof=0), as numpy's default
    minimum: float = math.nan
    maximum: float = math.nan


def roi_mask(ellipse: bool, p0: Point, p1: Point, shape: tuple[int, int]) -> tuple[slice, slice, np.ndarray]:
    """(row slice, column slice, boolean mask over that window) of the pixels inside."""
    left, top, width, height = box(p0, p1)
    rows = slice(max(0, math.floor(top)), min(shape[0], math.ceil(top + height)))
    cols = slice(max(0, math.floor(left)), min(shape[1], math.ceil(left + width)))
    ys = np.arange(rows.start, max(rows.start, rows.stop)) + 0.5
    xs = np.arange(cols.start, max(cols.start, cols.stop)) + 0.5
    if ellipse:
        if width <= 0 or height <= 0:
            return rows, cols, np.zeros((ys.size, xs.size), bool)
        u = (xs - (left + width / 2)) / (width / 2)
        v = (ys - (top + height / 2)) / (height / 2)
        return rows, cols, (v[:, None] ** 2 + u[None, :] ** 2) <= 1.0
    inside_x = (xs >= left) & (xs <= left + width)
    inside_y = (ys >= top) & (ys <= top + height)
    return rows, cols, inside_y[:, None] & inside_x[None, :]


def roi_stats(pixels: np.ndarray, ellipse: bool, p0: Point, p1: Point) -> RoiStats:
    rows, cols, mask = roi_mask(ellipse, p0, p1, pixels.shape)
    values = pixels[rows, cols][mask]
    if values.size == 0:
        return RoiStats(0)
    values = values.astype(np.float64)  # float32 sums drift on a large ROI
    return RoiStats(int(values.size), float(values.mean()), float(values.std()),
                    float(values.min()), float(values.max()))
