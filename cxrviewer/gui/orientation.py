"""Rotate/flip state of the displayed image, as one transform every image layer shares.

Orientation is kept as a 2x2 integer matrix acting on image coordinates centred
on the image middle. Each user step (rotate, flip) multiplies on the display
side, so "flip horizontal" always flips what the reader sees left-right, even
after a rotation. Base image and any overlay (Grad-CAM) get the same QTransform,
so they can never drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PySide6.QtGui import QTransform

# Screen coordinates have y pointing down (the ViewBox is y-inverted), so a
# clockwise quarter turn sends +x (right) to +y (down): (x, y) -> (-y, x).
_ROTATE_CW = np.array([[0, -1], [1, 0]])
_FLIP_H = np.array([[-1, 0], [0, 1]])
_FLIP_V = np.array([[1, 0], [0, -1]])
_IDENTITY = np.eye(2, dtype=int)


@dataclass(frozen=True)
class Orientation:
    """An immutable display orientation; the methods return new orientations."""

    matrix: tuple[tuple[int, int], tuple[int, int]] = ((1, 0), (0, 1))

    @classmethod
    def _of(cls, m: np.ndarray) -> Orientation:
        return cls(((int(m[0, 0]), int(m[0, 1])), (int(m[1, 0]), int(m[1, 1]))))

    def _then(self, op: np.ndarray) -> Orientation:
        return self._of(op @ np.array(self.matrix))

    def rotated_cw(self) -> Orientation:
        return self._then(_ROTATE_CW)

    def rotated_ccw(self) -> Orientation:
        return self._then(_ROTATE_CW.T)

    def flipped_h(self) -> Orientation:
        return self._then(_FLIP_H)

    def flipped_v(self) -> Orientation:
        return self._then(_FLIP_V)

    @property
    def is_identity(self) -> bool:
        return np.array_equal(np.array(self.matrix), _IDENTITY)

    def describe(self) -> str:
        """Short text for the overlay, e.g. 'rot 90' or 'rot 180, flip H'."""
        m = np.array(self.matrix)
        mirrored = round(np.linalg.det(m)) < 0
        # Undo a horizontal mirror first, then read the rotation angle.
        rot = _FLIP_H @ m if mirrored else m
        angle = {(1, 0): 0, (0, 1): 90, (-1, 0): 180, (0, -1): 270}[(int(rot[0, 0]), int(rot[1, 0]))]
        parts = [f"rot {angle}"] if angle else []
        if mirrored:
            parts.append("flip H")
        return ", ".join(parts) or "as stored"

    def qtransform(self, width: int, height: int) -> QTransform:
        """Map image pixel coordinates to display coordinates (centred on the image middle)."""
        (a, b), (c, d) = self.matrix
        cx, cy = width / 2.0, height / 2.0
        # display = M @ (p - centre); QTransform maps x' = m11 x + m21 y + dx, y' = m12 x + m22 y + dy
        dx = -(a * cx + b * cy)
        dy = -(c * cx + d * cy)
        return QTransform(a, c, b, d, dx, dy)
