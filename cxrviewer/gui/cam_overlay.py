"""The Grad-CAM heat map as a colour-mapped, partly transparent layer over the image.

The map arrives as float32 (H, W) in [0, 1] on the image's own pixel grid, so it
goes into ``canvas.overlay``, which shares the base image's rotate/flip transform
and therefore sits on the same anatomy at every zoom, pan and orientation.

Colours, transparency and the probability weighting come from the one renderer,
``cxrviewer.imaging.heatmap``, which also draws the view export and the
``cxr predict`` PNGs.

Drawing: a CAM is smooth (it is upsampled from a 7x7 to 28x28 feature map), so
the layer draws every k-th pixel (block centres, at most ``DISPLAY_MAX_SIDE`` a
side), stretched back over the whole image by the canvas; the full-resolution map
is kept for export. Converting and drawing all 3.6 Mpx of the 1955 x 1841 chest CR
froze the UI thread for 35-50 ms per result; the strided copy costs about 1 ms.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pyqtgraph as pg

from cxrviewer.imaging.heatmap import DEFAULT_OPACITY, cam_to_u8, heat_lut

DISPLAY_MAX_SIDE = 1024


def display_copy(cam: np.ndarray, max_side: int = DISPLAY_MAX_SIDE) -> np.ndarray:
    """Every k-th pixel of the map, taken at block centres, so no side exceeds ``max_side``."""
    step = -(-max(cam.shape) // max_side)  # ceiling division
    if step <= 1:
        return cam
    return cam[step // 2::step, step // 2::step]


class CamOverlay:
    """Controls ``canvas.overlay``: which map, shown or hidden, how opaque.

    ``relayout`` is called after the layer's pixel size changed, so the canvas can
    stretch it over the image again.
    """

    def __init__(self, item: pg.ImageItem, relayout: Callable[[], None]) -> None:
        self.item = item
        self._relayout = relayout
        self.lut = heat_lut()
        self._cam: np.ndarray | None = None  # float32 in [0, 1], the image's shape
        self._strength = 1.0  # probability of the explained class: the map is drawn that strong
        self._map: np.ndarray | None = None  # its uint8 form, made when an export asks
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
        """The full-resolution map as LUT indices (for export), or None."""
        if self._map is None and self._cam is not None:
            self._map = cam_to_u8(self._cam, self._strength)
        return self._map

    @property
    def strength(self) -> float:
        return self._strength

    def has_map(self) -> bool:
        return self._cam is not None

    def is_showing(self) -> bool:
        return self.item.isVisible() and self._cam is not None

    def set_map(self, cam: np.ndarray | None, strength: float = 1.0) -> None:
        """``cam`` in [0, 1] on the image grid; ``strength`` the explained class's probability."""
        if cam is None:
            self.clear()
            return
        self._cam, self._map, self._strength = cam, None, float(strength)
        self.item.setImage(cam_to_u8(display_copy(cam), self._strength), autoLevels=False, levels=(0, 255),
                           lut=self.lut)
        self._relayout()
        self.item.setVisible(self._wanted)

    def clear(self) -> None:
        self._cam = self._map = None
        self.item.clear()
        self.item.setVisible(False)

    def set_wanted(self, wanted: bool) -> None:
        self._wanted = wanted
        self.item.setVisible(wanted and self._cam is not None)

    def set_opacity(self, opacity: float) -> None:
        self._opacity = min(max(float(opacity), 0.0), 1.0)
        self.item.setOpacity(self._opacity)
