"""The one image object every part of cxrviewer works with (no Qt, no torch)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

import numpy as np

# Window is imaging's type; re-exported here because every image carries its windows.
from cxrviewer.imaging.window import Window

from .dicom_identity import NO_IDENTITY, ImageIdentity

__all__ = ["ImageIdentity", "LoadedImage", "Window"]


@dataclass(frozen=True, eq=False)
class LoadedImage:
    """A decoded image ready for display.

    ``pixels`` is a 2-D float32 array at full resolution on the file's own scale:
    stored values through the Modality LUT (sequence or rescale slope/intercept),
    never mirrored, so a pixel readout or a window shows the numbers the header and
    other viewers use. ``display_inverted`` says that low values are to be shown
    white (MONOCHROME1, or Presentation LUT Shape INVERSE): the display inverts after
    the window. ``window`` is the default display window; ``presets`` are the windows
    the file itself carries (Window Center/Width pairs with their VOI LUT Function, VOI
    LUTs), the default first; a file without windows gets one robust automatic window. ``metadata`` maps "(gggg,eeee) Keyword" to a display
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
    frame_index: int = 0  # which of ``frames`` (0-based) ``pixels`` holds
    modality: str = ""
    body_part: str = ""
    view_position: str = ""
    metadata: Mapping[str, str] = field(default_factory=dict)
    display_inverted: bool = False
    windows_from_file: bool = False  # presets are the file's own windows, not one cxrviewer made
    # (row, column) pixel spacing in mm when the file gives it (DICOM), else None.
    pixel_spacing: tuple[float, float] | None = None
    # Which attribute gave it: "PixelSpacing" (at the patient, or as the file calibrated it) or
    # "ImagerPixelSpacing" (at the detector: the body is magnified there); "" without one.
    spacing_source: str = ""
    # SOP Instance UID (DICOM), "" otherwise: names the image for its saved annotations.
    instance_uid: str = ""
    # Patient, study, series and instance (DICOM; empty for PNG/JPEG): grouping, priors, reports.
    identity: ImageIdentity = NO_IDENTITY
    # The patient directions (DICOM LPS unit vectors) of the stored image's rows (left to right)
    # and columns (top to bottom), from ImageOrientationPatient or PatientOrientation; None
    # when the file does not say (the viewer then shows no orientation letters).
    patient_axes: tuple[tuple[float, float, float], tuple[float, float, float]] | None = None

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
