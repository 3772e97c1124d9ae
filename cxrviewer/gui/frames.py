"""Multi-frame images: a frame slider along the bottom, comma/period and Ctrl+wheel to scroll.

Each frame is decoded on its own, in the decoder process (the loader's FRAME lane:
the latest request wins, so dragging the slider decodes only where it stops), and its
neighbours are decoded ahead in the FRAME_AHEAD lane into a small FrameCache. The
canvas keeps window, zoom, rotation and flips from frame to frame.
"""

from __future__ import annotations

import logging

from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtWidgets import QLabel, QMainWindow, QSlider, QToolBar

from cxrviewer.io import LoadedImage

from .frame_cache import FrameCache, neighbours
from .loader import FRAME, FRAME_AHEAD, FRAME_PURPOSES, LoadResult

log = logging.getLogger(__name__)

_WHEEL_STEP = 120  # angle-delta units per notch; touchpads send less, so it is summed


class FrameBar(QToolBar):
    """'Frame [slider] 2 / 3', hidden for single-frame images."""

    def __init__(self, parent: QMainWindow) -> None:
        super().__init__("Frames", parent)
        self.setObjectName("framesToolBar")
        self.setMovable(False)
        self.addWidget(QLabel(" Frame "))
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setMinimum(1)
        self.slider.setPageStep(1)
        self.slider.setToolTip("Scroll frames: , and . keys, or Ctrl+wheel over the image")
        self.addWidget(self.slider)
        self.label = QLabel()
        self.label.setMinimumWidth(80)
        self.addWidget(self.label)

    def show_frame(self, index: int, count: int) -> None:
        self.slider.blockSignals(True)
        self.slider.setMaximum(max(count, 1))
        self.slider.setValue(index + 1)
        self.slider.blockSignals(False)
        self.label.setText(f" {index + 1} / {count}")


class FrameNavigator(QObject):
    message = Signal(str)  # for the status bar

    def __init__(self, window: QMainWindow, canvas, loader) -> None:
        super().__init__(window)
        self.canvas, self.loader = canvas, loader
        self.bar = FrameBar(window)
        window.addToolBar(Qt.ToolBarArea.BottomToolBarArea, self.bar)
        self.bar.hide()
        self.cache = FrameCache()
        self._path = None
        self._count = 1
        self._wanted = 0
        self._ahead: set[int] = set()  # frames asked for in FRAME_AHEAD, not back yet
        self._wheel = 0
        self.bar.slider.valueChanged.connect(lambda value: self.go_to(value - 1))
        canvas.imageChanged.connect(self._on_image)
        loader.loaded.connect(self._on_loaded)
        canvas.viewport().installEventFilter(self)

    @property
    def count(self) -> int:
        return self._count

    @property
    def wanted(self) -> int:
        return self._wanted

    def _on_image(self, image: LoadedImage | None) -> None:
        """A new image (or none): forget the last one's frames."""
        self.loader.cancel_frames()
        self.cache.clear()
        self._ahead.clear()
        self._path = image.path if image is not None else None
        self._count = image.frames if image is not None and image.kind == "dicom" else 1
        self._wanted = image.frame_index if image is not None else 0
        self.bar.setVisible(self._count > 1)
        if self._count > 1:
            self.cache.put(image)
            self.bar.show_frame(self._wanted, self._count)
            self._decode_ahead(self._wanted)

    def step(self, delta: int) -> None:
        if self._count > 1:
            self.go_to(self._wanted + delta)

    def go_to(self, index: int) -> None:
        if self._count <= 1 or self._path is None:
            return
        index = max(0, min(index, self._count - 1))
        self._wanted = index
        self.bar.show_frame(index, self._count)
        cached = self.cache.get(index)
        if cached is not None:
            self._show(cached)
        elif index not in self._ahead:
            self.loader.request(self._path, FRAME, index)

    def _on_loaded(self, result: LoadResult) -> None:
        if result.purpose not in FRAME_PURPOSES or result.path != self._path:
            return
        if result.error is not None:
            if result.purpose == FRAME:
                self.message.emit(result.error)
            return
        image = result.image
        self._ahead.discard(image.frame_index)
        self.cache.put(image)
        if image.frame_index == self._wanted:
            self._show(image)

    def _show(self, image: LoadedImage) -> None:
        current = self.canvas.image
        if current is None or current.path != image.path:
            return
        if current.frame_index != image.frame_index:
            self.canvas.show_frame(image)
        self._decode_ahead(image.frame_index)

    def _decode_ahead(self, index: int) -> None:
        for frame in neighbours(index, self._count):
            if frame not in self.cache and frame not in self._ahead:
                self._ahead.add(frame)
                self.loader.request(self._path, FRAME_AHEAD, frame)

    def eventFilter(self, obj, event):  # noqa: N802 (Qt API)
        """Ctrl+wheel over the image scrolls frames (a plain wheel zooms)."""
        if (event.type() == QEvent.Type.Wheel and self._count > 1
                and event.modifiers() & Qt.KeyboardModifier.ControlModifier):
            self._wheel += event.angleDelta().y()
            while abs(self._wheel) >= _WHEEL_STEP:
                down = self._wheel < 0
                self._wheel += _WHEEL_STEP if down else -_WHEEL_STEP
                self.step(+1 if down else -1)  # wheel towards the reader: the next frame
            event.accept()
            return True
        return False
