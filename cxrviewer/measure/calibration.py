"""How image pixels turn into millimetres, and what the reader must be told about it.

Pixel Spacing is the file's spacing at the patient (or as the modality calibrated
it). Imager Pixel Spacing is at the detector: a chest film magnifies the body by
roughly 5-15 %, so lengths measured with it are too long by that much and must say
so. Without either, measurements are in pixels and say that instead.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

PIXEL_SPACING = "PixelSpacing"
IMAGER_PIXEL_SPACING = "ImagerPixelSpacing"

NOTE_DETECTOR = "at the detector"
NOTE_NO_SPACING = "no pixel spacing"


@dataclass(frozen=True)
class Calibration:
    """Row and column spacing in mm (None: uncalibrated) and the attribute they came from."""

    row_mm: float | None = None
    col_mm: float | None = None
    source: str = ""

    @classmethod
    def of(cls, spacing: tuple[float, float] | None, source: str) -> Calibration:
        if not spacing or not all(math.isfinite(s) and s > 0 for s in spacing):
            return cls()
        return cls(float(spacing[0]), float(spacing[1]), source or PIXEL_SPACING)

    @property
    def calibrated(self) -> bool:
        return self.row_mm is not None and self.col_mm is not None

    @property
    def unit(self) -> str:
        return "mm" if self.calibrated else "px"

    @property
    def area_unit(self) -> str:
        return "mm²" if self.calibrated else "px²"

    @property
    def note(self) -> str:
        """What a length needs beside it: '' for Pixel Spacing. Areas and CTR spans in px
        and px² need none (the unit says it), so they take ``detector_note`` instead."""
        if not self.calibrated:
            return NOTE_NO_SPACING
        return NOTE_DETECTOR if self.source == IMAGER_PIXEL_SPACING else ""

    @property
    def detector_note(self) -> str:
        return NOTE_DETECTOR if self.note == NOTE_DETECTOR else ""

    def scale(self) -> tuple[float, float]:
        """(x, y) size of one pixel in the unit: columns run along x, rows along y."""
        return (self.col_mm, self.row_mm) if self.calibrated else (1.0, 1.0)
