"""The one image object every part of cxrviewer works with (no Qt, no torch)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

import numpy as np


@dataclass(frozen=True)
class Window:
    """A display window in the units of ``LoadedImage.pixels``."""

    name: str
    center: float
    width: float

    @property
    def low(self) -> float:
        return self.center - self.width / 2.0

    @property
    def high(self) -> float:
        return self.center + self.width / 2.0


@dataclass(frozen=True, eq=False)
class LoadedImage:
    """A decoded image ready for display.

    ``pixels`` is a 2-D float32 array at full resolution, after the Modality
    LUT (rescale slope/intercept), with MONOCHROME1 already resolved so that
    higher values are always shown brighter. ``window`` is the default display
    window; ``presets`` are the windows the file itself carries (DICOM Window
    Center/Width pairs, a VOI LUT), the default first; a file without windows gets
    one robust automatic window. ``metadata`` maps "(gggg,eeee) Keyword" to a display
    string for DICOM, property names for PNG/JPEG; it holds patient data, so it is
    for display only and never logged.
    """

    path: Path
    kind: str  # "dicom" | "png" | "jpeg"
    pixels: np.ndarray
    window: Window
    presets: tuple[Window, ...]
    photometric: str  # as stored in the file: MONOCHROME1, MONOCHROME2, RGB, L, ...
    bits: int  # bits stored per sample
    frames: int = 1
    modality: str = ""
    body_part: str = ""
    view_position: str = ""
    metadata: Mapping[str, str] = field(default_factory=dict)
    # (row, column) pixel spacing in mm when the file gives it (DICOM), else None.
    pixel_spacing: tuple[float, float] | None = None

    def __post_init__(self) -> None:
        if self.pixels.ndim != 2:
            raise ValueError(f"pixels must be 2-D, got shape {self.pixels.shape}")
        object.__setattr__(self, "metadata", MappingProxyType(dict(self.metadata)))

    @property
    def height(self) -> int:
        return int(self.pixels.shape[0])

    @property
    def width(self) -> int:
        return int(self.pixels.shape[1])

    @property
    def value_range(self) -> tuple[float, float]:
        return float(self.pixels.min()), float(self.pixels.max())
