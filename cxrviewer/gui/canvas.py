"""The image canvas: one aspect-locked ViewBox showing a base image and overlay layers.

The base ImageItem holds the full-resolution float pixels once per image, on the
file's own scale; the display window is a pair of levels and a lookup table made by
cxrviewer.imaging.voi (pyqtgraph applies them while rendering, at screen resolution
thanks to ``autoDownsample``), so a SIGMOID window or a VOI LUT costs no more than a
straight one. Inversion (MONOCHROME1, or the reader's toggle) is part of that table,
and rotate/flip is a QTransform shared by every layer,
so an overlay such as a Grad-CAM heat map follows the base image exactly.
"""

from __future__ import annotations

import logging
import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, Qt, Signal
from PySide6.QtGui import QPainter, QTransform
from PySide6.QtWidgets import QLabel

from cxrviewer.imaging.voi import display_table
from cxrviewer.imaging.window import LINEAR_EXACT
from cxrviewer.imaging.windowing import shown_inverted
from cxrviewer.io import LoadedImage, Window

from .cam_overlay import CamOverlay
from .lung_outline import LungOutline
from .orientation import Orientation
from .viewbox import ReadingViewBox

log = logging.getLogger(__name__)

# A right-drag across this many screen pixels sweeps the image's whole value range.
_WL_DRAG_PIXELS_PER_RANGE = 800.0
_ZOOM_STEP = 1.25
_FIT_PADDING = 0.02
EMPTY_MESSAGE = "No image open.\nFile ▸ Open (Ctrl+O), or drop files or folders here."


class _PaintReportingImageItem(pg.ImageItem):
    """An ImageItem that says when it has been painted (first pixels on screen)."""

    painted = Signal()

    def paint(self, painter, *args):
        super().paint(painter, *args)
        self.painted.emit()


class ImageCanvas(pg.GraphicsView):
    windowChanged = Signal(object)  # Window
    invertChanged = Signal(bool)
    orientationChanged = Signal(object)  # Orientation
    zoomChanged = Signal(float)  # percent
    imageChanged = Signal(object)  # the LoadedImage now shown, or None once cleared
    frameChanged = Signal(object)  # another frame of the same image (LoadedImage); the view is kept
    # image column, row and value under the cursor; value is None off the image
    cursorMoved = Signal(int, int, object)
    cursorLeft = Signal()

    def __init__(self, parent=None) -> None:
        super().__init__(parent, background="k")
        self.setAcceptDrops(False)  # drops are handled by the main window
        self.viewport().setAcceptDrops(False)
        self.view = ReadingViewBox()
        self.setCentralItem(self.view)
        self.view.enableAutoRange(enable=False)

        self.base = _PaintReportingImageItem(axisOrder="row-major", autoDownsample=True)
        # The AI heat map: on the image's pixel grid (drawn from a reduced copy, stretched
        # back over the image), sharing the base's rotate/flip transform.
        self.overlay = pg.ImageItem(axisOrder="row-major")
        self.overlay.setZValue(10)
        self.overlay.setVisible(False)
        self.cam = CamOverlay(self.overlay, relayout=self._apply_orientation)
        self.lungs = LungOutline(LungOutline.make_item())
        self._layers: list[pg.GraphicsObject] = []
        for item in (self.base, self.overlay, self.lungs.item):
            self.add_layer(item)

        self._image: LoadedImage | None = None
        self._window: Window | None = None
        self._first_window: Window | None = None  # the window the image opened with: what reset restores
        self._inverted = False
        self._orientation = Orientation()
        self._message = self._make_message_label()

        self.view.windowDragged.connect(self._on_window_drag)
        self.view.fitRequested.connect(self.fit)
        self.view.sigRangeChanged.connect(self._emit_zoom)
        self.set_smooth(True)
        self.show_message(EMPTY_MESSAGE)

    # ----- layers -------------------------------------------------------
    def add_layer(self, item: pg.GraphicsObject) -> None:
        """Add an item drawn over the image that must follow rotate/flip (e.g. a heat map)."""
        self._layers.append(item)
        self.view.addItem(item)
        self._apply_orientation()

    # ----- image ---------------------------------------------------------
    @property
    def image(self) -> LoadedImage | None:
        return self._image

    def set_image(self, image: LoadedImage, window: Window | None = None) -> None:
        """Show a new image with a fresh view: default window, upright, fitted."""
        self._image = image
        self._window = self._first_window = window or image.window
        self._inverted = False
        self._orientation = Orientation()
        self.cam.clear()  # a map belongs to one image
        self.lungs.clear()
        self._message.hide()
        levels, lut = self._display_table()
        self.base.setImage(image.pixels, autoLevels=False, levels=levels, lut=lut)
        self._apply_orientation()
        self.fit()
        self.windowChanged.emit(self._window)
        self.invertChanged.emit(False)
        self.orientationChanged.emit(self._orientation)
        self.imageChanged.emit(image)

    def show_frame(self, image: LoadedImage) -> None:
        """Another frame of the image on screen, in the same window, zoom, rotation and flips."""
        if self._image is None or image.path != self._image.path or image.pixels.shape != self._image.pixels.shape:
            self.set_image(image, self._window)
            return
        self._image = image
        levels, lut = self._display_table()
        self.base.setImage(image.pixels, autoLevels=False, levels=levels, lut=lut)
        # The AI read the first frame: its heat map and lung outline are not drawn over another.
        first = image.frame_index == 0
        self.overlay.setVisible(self.cam.wanted and self.cam.has_map() and first)
        self.lungs.item.setVisible(self.lungs.wanted and self.lungs.has_outline() and first)
        self.frameChanged.emit(image)

    def reset_view(self) -> None:
        """Back to how the image first appeared: default window, not inverted, upright, fitted."""
        if self._image is None:
            return
        self.set_window(self._first_window or self._image.window)
        self.set_inverted(False)
        self.set_orientation(Orientation())

    def clear_image(self, message: str) -> None:
        self._image = None
        self._window = None
        self.base.clear()
        self.cam.clear()
        self.lungs.clear()
        self.show_message(message)
        self.imageChanged.emit(None)

    def show_message(self, text: str) -> None:
        self._message.setText(text)
        self._message.show()
        self._place_message()

    def message(self) -> str:
        return self._message.text() if self._message.isVisible() else ""

    # ----- window / level -------------------------------------------------
    @property
    def window(self) -> Window | None:
        return self._window

    def set_window(self, window: Window) -> None:
        if self._image is None:
            return
        self._window = window
        self._apply_display()
        self.windowChanged.emit(window)

    def _display_table(self) -> tuple[tuple[float, float], np.ndarray]:
        return display_table(self._window, shown_inverted(self._image, self._inverted))

    def _apply_display(self) -> None:
        levels, lut = self._display_table()
        self.base.setLevels(levels)
        self.base.setLookupTable(lut)

    def _on_window_drag(self, dx: float, dy: float) -> None:
        """OHIF convention: right = wider window (less contrast), down = darker image."""
        if self._image is None or self._window is None:
            return
        lo, hi = self._image.value_range
        span = max(hi - lo, 1e-3)
        step = span / _WL_DRAG_PIXELS_PER_RANGE
        width = max(self._window.width + dx * step, span / 1000.0)
        # Down darkens: a higher centre, or a lower one on a film whose low values are
        # white (MONOCHROME1), so dragging feels the same on every film.
        center = self._window.center + dy * step * (-1 if self._image.display_inverted else 1)
        # A sigmoid stays a sigmoid; a VOI LUT cannot be moved, so it becomes its straight line.
        function = self._window.function if self._window.lut is None else LINEAR_EXACT
        self.set_window(Window("Custom", center, width, function))

    @property
    def inverted(self) -> bool:
        return self._inverted

    def set_inverted(self, inverted: bool) -> None:
        """The reader's invert toggle, on top of the file's own presentation."""
        self._inverted = inverted
        if self._image is not None:
            self._apply_display()
        self.invertChanged.emit(inverted)

    # ----- orientation & zoom ---------------------------------------------
    @property
    def orientation(self) -> Orientation:
        return self._orientation

    def set_orientation(self, orientation: Orientation) -> None:
        self._orientation = orientation
        self._apply_orientation()
        self.fit()
        self.orientationChanged.emit(orientation)

    def _apply_orientation(self) -> None:
        image = getattr(self, "_image", None)
        if image is None:
            return
        transform = self._orientation.qtransform(image.width, image.height)
        for item in self._layers:
            # A layer drawn at a lower resolution (the heat map) is first stretched to the image's size.
            item.setTransform(self._layer_scale(item, image) * transform)

    @staticmethod
    def _layer_scale(item: pg.GraphicsObject, image: LoadedImage) -> QTransform:
        pixels = getattr(item, "image", None)  # outlines are drawn in image coordinates already
        if pixels is None or pixels.shape[:2] == image.pixels.shape:
            return QTransform()
        height, width = pixels.shape[:2]
        return QTransform.fromScale(image.width / width, image.height / height)

    def displayed_rect(self):
        """The image's rectangle in view coordinates, after rotate/flip."""
        return self.base.mapRectToParent(self.base.boundingRect())

    def fit(self) -> None:
        if self._image is not None:
            self.view.setRange(rect=self.displayed_rect(), padding=_FIT_PADDING)

    def zoom_in(self) -> None:
        self.view.scaleBy((1 / _ZOOM_STEP, 1 / _ZOOM_STEP))

    def zoom_out(self) -> None:
        self.view.scaleBy((_ZOOM_STEP, _ZOOM_STEP))

    def actual_size(self) -> None:
        """1:1: one image pixel to one screen pixel, about the centre of the view."""
        pixel = self.view.viewPixelSize()[0]
        if self._image is not None and pixel > 0 and math.isfinite(pixel):
            self.view.scaleBy((1 / pixel, 1 / pixel))

    @property
    def smooth(self) -> bool:
        return bool(self.renderHints() & QPainter.RenderHint.SmoothPixmapTransform)

    def set_smooth(self, smooth: bool) -> None:
        """Enlarged pixels interpolated (bilinear) or drawn as blocks (nearest neighbour)."""
        self.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, smooth)
        self.viewport().update()

    def zoom_percent(self) -> float:
        pixel = self.view.viewPixelSize()[0]
        return 100.0 / pixel if pixel > 0 and math.isfinite(pixel) else 100.0

    def _emit_zoom(self, *_args) -> None:
        if self._image is not None:  # an empty view has no meaningful zoom
            self.zoomChanged.emit(self.zoom_percent())

    # ----- cursor ---------------------------------------------------------
    def image_coords_at(self, scene_pos: QPointF) -> tuple[int, int] | None:
        """Image (column, row) under a scene position, or None when off the image."""
        if self._image is None:
            return None
        p = self.base.mapFromScene(scene_pos)
        col, row = math.floor(p.x()), math.floor(p.y())
        if 0 <= col < self._image.width and 0 <= row < self._image.height:
            return col, row
        return None

    def mouseMoveEvent(self, ev):  # noqa: N802 (Qt API)
        super().mouseMoveEvent(ev)
        # Every move, not pyqtgraph's rate-limited sigMouseMoved: the value shown must be
        # the one under the cursor where it came to rest.
        self._on_mouse_moved(self.mapToScene(ev.position().toPoint()))

    def leaveEvent(self, ev):  # noqa: N802 (Qt API)
        super().leaveEvent(ev)
        self.cursorLeft.emit()

    def _on_mouse_moved(self, scene_pos: QPointF) -> None:
        coords = self.image_coords_at(scene_pos)
        if coords is None:
            self.cursorLeft.emit()
            return
        col, row = coords
        self.cursorMoved.emit(col, row, float(self._image.pixels[row, col]))

    # ----- centred message --------------------------------------------------
    def _make_message_label(self) -> QLabel:
        label = QLabel(self)
        label.setObjectName("canvasMessage")
        label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        label.setWordWrap(True)
        label.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        return label

    def _place_message(self) -> None:
        if not hasattr(self, "_message"):  # pyqtgraph resizes during its own __init__
            return
        width = min(self.width() - 40, 640)
        self._message.setFixedWidth(max(width, 100))
        self._message.adjustSize()
        self._message.move((self.width() - self._message.width()) // 2,
                           (self.height() - self._message.height()) // 2)

    def resizeEvent(self, ev):  # noqa: N802 (Qt API)
        super().resizeEvent(ev)
        self._place_message()
