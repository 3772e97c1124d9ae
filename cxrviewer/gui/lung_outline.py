"""The lung fields as a thin outline over the image (toggle with L).

The worker sends the outlines as polygons in image pixel coordinates; they are
drawn as one curve (NaN between polygons) on the canvas's layer list, so the
outline follows rotate and flip like the heat map does.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg

OUTLINE_COLOUR = (80, 220, 255)  # cyan: apart from the heat map's blue-red range and from bone white


class LungOutline:
    def __init__(self, item: pg.PlotCurveItem) -> None:
        self.item = item
        self.item.setPen(pg.mkPen(OUTLINE_COLOUR, width=1.5, cosmetic=True))
        self._wanted = True
        self._has = False
        self.item.setVisible(False)

    @staticmethod
    def make_item() -> pg.PlotCurveItem:
        item = pg.PlotCurveItem(connect="finite", antialias=True)
        item.setZValue(20)  # over the heat map
        return item

    @property
    def wanted(self) -> bool:
        return self._wanted

    def has_outline(self) -> bool:
        return self._has

    def is_showing(self) -> bool:
        return self.item.isVisible() and self._has

    def set_outlines(self, outlines: tuple[np.ndarray, ...]) -> None:
        if not outlines:
            self.clear()
            return
        gap = np.full((1, 2), np.nan, dtype=np.float32)
        points = np.vstack([part for polygon in outlines for part in (polygon, gap)])
        self.item.setData(points[:, 0], points[:, 1])
        self._has = True
        self.item.setVisible(self._wanted)

    def clear(self) -> None:
        self._has = False
        self.item.setData([], [])
        self.item.setVisible(False)

    def set_wanted(self, wanted: bool) -> None:
        self._wanted = wanted
        self.item.setVisible(wanted and self._has)
