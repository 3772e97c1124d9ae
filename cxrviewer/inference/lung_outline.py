"""Lung-field outlines as polygons for drawing (numpy/OpenCV, no Qt, no torch).

The worker sends polygons rather than asking the UI thread to trace a full-size
mask: tracing a 3000 x 3000 mask takes tens of milliseconds, drawing a polygon none.
"""

from __future__ import annotations

import cv2
import numpy as np


def outlines(mask: np.ndarray, max_points: int = 400) -> tuple[np.ndarray, ...]:
    """Closed outer contours of ``mask`` (bool H, W) as float32 (K, 2) arrays of (x, y) pixel coordinates."""
    # A bool array viewed as 0/1 bytes: no copy of a full-size mask (findContours leaves its input alone).
    source = mask.view(np.uint8) if mask.dtype == bool and mask.flags.c_contiguous else mask.astype(np.uint8)
    contours, _ = cv2.findContours(source, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    out = []
    for contour in contours:
        points = contour[:, 0, :].astype(np.float32)
        if len(points) < 3:
            continue
        step = max(1, len(points) // max_points)
        points = points[::step]
        out.append(np.vstack([points, points[:1]]) + 0.5)  # close it; pixel centres
    return tuple(out)
