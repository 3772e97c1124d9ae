"""Orientation letters for the image edges (no Qt): which way the patient lies on screen.

DICOM's patient coordinates (LPS): +x towards the patient's Left, +y Posterior, +z Head.
An image's rows run along one patient direction and its columns along another; those
come from Image Orientation (Patient) as direction cosines or from Patient Orientation
as letters ("L", "F", "LP"...). After the reader's rotate/flip (a 2x2 matrix acting on
image x/y, y pointing down), each screen edge shows the direction it points to.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

Vector = tuple[float, float, float]

_LETTER_AXES = {"L": (1, 0, 0), "R": (-1, 0, 0), "P": (0, 1, 0), "A": (0, -1, 0), "H": (0, 0, 1), "F": (0, 0, -1)}
_AXIS_LETTERS = (("R", "L"), ("A", "P"), ("F", "H"))  # (negative, positive) per axis
# A second letter only for a component at least this large: a detector a few degrees off
# true is still labelled "L", not "LP" (ordinary radiographs are never exactly square on).
_SECONDARY_MIN = 0.25
# The screen edge each unit display direction points to (x right, y down).
EDGES = {"right": (1, 0), "left": (-1, 0), "bottom": (0, 1), "top": (0, -1)}


def vector_from_letters(text: str) -> Vector | None:
    """'L' -> (1, 0, 0); 'LF' -> the unit vector between Left and Feet; None if not LPS letters."""
    letters = text.strip().upper()
    if not letters or any(ch not in _LETTER_AXES for ch in letters):
        return None  # includes quadruped terms (e.g. 'LE', 'CR') that are not patient LPS letters
    total = np.sum([_LETTER_AXES[ch] for ch in letters], axis=0).astype(float)
    norm = float(np.linalg.norm(total))
    return None if norm == 0 else tuple(float(v) for v in total / norm)


def letters_for(vector: Sequence[float]) -> str:
    """The letters for a patient direction, largest component first: (1, 0, 0) -> 'L', oblique -> 'LF'."""
    v = np.asarray(vector, dtype=float)
    order = np.argsort(-np.abs(v))
    if np.abs(v[order[0]]) == 0:
        return ""
    letters = [_AXIS_LETTERS[order[0]][int(v[order[0]] > 0)]]
    for axis in order[1:]:
        if abs(v[axis]) >= _SECONDARY_MIN:
            letters.append(_AXIS_LETTERS[axis][int(v[axis] > 0)])
    return "".join(letters)


def edge_letters(axes: tuple[Vector, Vector] | None, matrix) -> dict[str, str]:
    """Letters per screen edge ('top', 'bottom', 'left', 'right') for an image whose stored rows
    and columns point along ``axes``, shown through the display ``matrix`` (orthogonal, integer).

    A display direction e came from the stored direction M^T e; its patient direction is
    that combination of the row and column vectors. Empty when the file does not say.
    """
    if axes is None:
        return {}
    row, col = (np.asarray(a, dtype=float) for a in axes)
    m = np.asarray(matrix, dtype=float)
    letters = {}
    for edge, direction in EDGES.items():
        sx, sy = m.T @ np.asarray(direction, dtype=float)
        letters[edge] = letters_for(sx * row + sy * col)
    return letters
