"""A pyqtgraph ViewBox with reading-room mouse bindings.

Left-drag pans and the wheel zooms (pyqtgraph's defaults); right-drag adjusts
window/level instead of pyqtgraph's right-drag zoom; double-click fits. The
pyqtgraph context menu is off: its axis-range items mean nothing on an image.
While a measuring tool is chosen, ``tool_handler`` (the canvas's MeasureLayer) gets
left-drags and single left-clicks first, and panning waits until it is put down.
"""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal


class ReadingViewBox(pg.ViewBox):
    # Screen-pixel deltas of a right-drag step: (dx, dy); dx > 0 is rightwards, dy > 0 downwards.
    windowDragged = Signal(float, float)
    fitRequested = Signal()

    def __init__(self) -> None:
        super().__init__(lockAspect=True, invertY=True, enableMenu=False)
        self.setMouseMode(pg.ViewBox.PanMode)
        self.tool_handler = None  # has drag(ev) and click(ev), each True when it took the event

    def mouseDragEvent(self, ev, axis=None):  # noqa: N802 (pyqtgraph API)
        left = ev.button() == Qt.MouseButton.LeftButton
        if left and self.tool_handler is not None and self.tool_handler.drag(ev):
            return
        if ev.button() != Qt.MouseButton.RightButton:
            super().mouseDragEvent(ev, axis)
            return
        ev.accept()
        delta = ev.screenPos() - ev.lastScreenPos()
        self.windowDragged.emit(float(delta.x()), float(delta.y()))

    def mouseClickEvent(self, ev):  # noqa: N802 (pyqtgraph API)
        if ev.double() and ev.button() == Qt.MouseButton.LeftButton:
            ev.accept()
            self.fitRequested.emit()
            return
        left = ev.button() == Qt.MouseButton.LeftButton
        if left and self.tool_handler is not None and self.tool_handler.click(ev):
            return
        super().mouseClickEvent(ev)
