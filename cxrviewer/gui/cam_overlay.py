"""The Grad-CAM heat map as a colour-mapped, partly transparent layer over the image.

The map arrives as float32 (H, W) in [0, 1] on the image's own pixel grid, so it
goes into ``canvas.overlay``, which shares the base image's rotate/flip transform
and therefore sits on the same anatomy at every zoom, pan and orientation.

Colour map: 'turbo' (as ``cxr predict`` PNGs), whose blue-to-red order readers know
from heat maps; the weak end is made fully transparent so regions the model did
not use stay plain grey, and transparency fades in gradually so there is no hard
contour that could be read as a lesion border.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg

COLOUR_MAP = "turbo"
TRANSPARENT_BELOW = 0.25  # map values under this are not drawn at all
OPAQUE_FROM = 0.75  # from here the colour is drawn at full (slider) opacity
DEFAULT_OPACITY = 0.5


def heat_lut() -> np.ndarray:
    """(256, 4) uint8 RGBA lookup table: turbo colours, alpha rising from the weak end."""
    colours = pg.colormap.get(COLOUR_MAP).getLookupTable(0.0, 1.0, 256, alpha=True)
    values = np.linspace(0.0, 1.0, 256)
    ramp = np.clip((values - TRANSPARENT_BELOW) / (OPAQUE_FROM - TRANSPARENT_BELOW), 0.0, 1.0)
    lut = np.array(colours, dtype=np.uint8, copy=True)
    lut[:, 3] = np.round(255 * ramp).astype(np.uint8)
    return lut


def cam_to_u8(cam: np.ndarray) -> np.ndarray:
    """uint8 indices into the LUT: a quarter of the memory of float32, and quicker to draw."""
    return np.clip(np.asarray(cam, dtype=np.float32) * 255.0 + 0.5, 0, 255).astype(np.uint8)


class CamOverlay:
    """Controls ``canvas.overlay``: which map, shown or hidden, how opaque."""

    def __init__(self, item: pg.ImageItem) -> None:
        self.item = item
        self.lut = heat_lut()
        self._map: np.ndarray | None = None  # uint8, the image's shape
        self._wanted = True  # the reader's toggle; the layer shows only when a map exists
        self._opacity = DEFAULT_OPACITY
        self.item.setOpacity(self._opacity)

    @property
    def wanted(self) -> bool:
        return self._wanted

    @property
    def opacity(self) -> float:
        return self._opacity

    @property
    def map_u8(self) -> np.ndarray | None:
        return self._map

    def is_showing(self) -> bool:
        return self.item.isVisible() and self._map is not None

    def set_map(self, cam: np.ndarray | None) -> None:
        if cam is None:
            self.clear()
            return
        self._map = cam_to_u8(cam)
        self.item.setImage(self._map, autoLevels=False, levels=(0, 255), lut=self.lut)
        self.item.setVisible(self._wanted)

    def clear(self) -> None:
        self._map = None
        self.item.clear()
        self.item.setVisible(False)

    def set_wanted(self, wanted: bool) -> None:
        self._wanted = wanted
        self.item.setVisible(wanted and self._map is not None)

    def set_opacity(self, opacity: float) -> None:
        self._opacity = min(max(float(opacity), 0.0), 1.0)
        self.item.setOpacity(self._opacity)
