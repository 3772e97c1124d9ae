"""A loupe that follows the cursor over the canvas: the image under it, enlarged.

A small GraphicsView over the canvas with its own ImageItem on the same pixel array
(no copy), levels, lookup table, rotate/flip transform and smoothing as the canvas, so
it shows what the canvas shows, only larger: twice the canvas's zoom, and never less
than one image pixel per screen pixel (on a fitted film that is its full resolution).
It takes no mouse input: panning, window/level and measuring go on underneath.
The heat map and measurements are not drawn in it.
"""

from __future__ import annotations

import math

import pyqtgraph as pg
from PySide6.QtCore import QEvent, QObject, QPoint, Qt
from PySide6.QtGui import QPainter

SIZE = 240  # px on screen
FACTOR = 2.0  # enlargement over the canvas's own zoom


class Magnifier(QObject):
    def __init__(self, canvas) -> None:
        super().__init__(canvas)
        self.canvas = canvas
        self.view = pg.GraphicsView(canvas, background="k")
        self.view.setObjectName("magnifier")
        self.view.setFixedSize(SIZE, SIZE)
        self.view.setStyleSheet("border: 2px solid #ffd27f;")
        self.view.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self.box = pg.ViewBox(lockAspect=True, invertY=True, enableMouse=False, enableMenu=False)
        self.box.setMouseEnabled(False, False)
        self.view.setCentralItem(self.box)
        self.item = pg.ImageItem(axisOrder="row-major")
        self.box.addItem(self.item)
        self.view.hide()
        self._enabled = False
        for signal in (canvas.imageChanged, canvas.frameChanged, canvas.windowChanged, canvas.invertChanged,
                       canvas.orientationChanged):
            signal.connect(self._sync)
        canvas.viewport().installEventFilter(self)

    @property
    def enabled(self) -> bool:
        return self._enabled

    def set_enabled(self, enabled: bool) -> None:
        self._enabled = enabled
        if enabled:
            self._sync()
            position = self.canvas.viewport().mapFromGlobal(self.canvas.cursor().pos())
            if self.canvas.viewport().rect().contains(position):
                self.follow(position)
        else:
            self.view.hide()

    def _sync(self, *_args) -> None:
        """The canvas's pixels, levels, table, transform and smoothing."""
        if not self._enabled:
            return
        base = self.canvas.base
        if self.canvas.image is None or base.image is None:
            self.item.clear()
            self.view.hide()
            return
        self.item.setImage(base.image, autoLevels=False, levels=base.getLevels(), lut=base.lut)
        self.item.setTransform(base.transform())
        self.view.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, self.canvas.smooth)

    def follow(self, position: QPoint) -> None:
        """Centre the loupe on a viewport position and show the image there, enlarged."""
        if not self._enabled or self.canvas.image is None:
            return
        centre = self.canvas.view.mapSceneToView(self.canvas.mapToScene(position))
        pixel = self.canvas.view.viewPixelSize()[0]  # view units per canvas screen pixel
        if not (pixel > 0 and math.isfinite(pixel)):
            return
        half = SIZE / 2 * min(pixel / FACTOR, 1.0)
        self.box.setRange(xRange=(centre.x() - half, centre.x() + half),
                          yRange=(centre.y() - half, centre.y() + half), padding=0)
        corner = self.canvas.viewport().mapTo(self.canvas, position) - QPoint(SIZE // 2, SIZE // 2)
        self.view.move(corner)
        self.view.show()
        self.view.raise_()

    def eventFilter(self, obj, event):  # noqa: N802 (Qt API)
        if self._enabled:
            if event.type() == QEvent.Type.MouseMove:
                self.follow(event.position().toPoint())
            elif event.type() == QEvent.Type.Leave:
                self.view.hide()
        return False
