"""Linked viewports: zoom, pan and window/level made on one canvas follow on the others.

Zoom and pan are linked in the image's own proportions (the same part of each film is in
view, whatever its pixel size); the window is copied where both images have the same kind
and bit depth (the same scale). A film on another scale (a 15-bit CR beside an 8-bit DX)
keeps its own window: a window carried across scales by value range washed such films out.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from PySide6.QtCore import QObject, QRectF

from cxrviewer.io import LoadedImage, Window

from .canvas import ImageCanvas


def relative_view(canvas: ImageCanvas) -> tuple[float, float, float, float] | None:
    """The visible rectangle as fractions of the displayed image (x, y, width, height)."""
    if canvas.image is None:
        return None
    view, image = canvas.view.viewRect(), canvas.displayed_rect()
    if image.width() <= 0 or image.height() <= 0:
        return None
    return ((view.x() - image.x()) / image.width(), (view.y() - image.y()) / image.height(),
            view.width() / image.width(), view.height() / image.height())


def apply_relative_view(canvas: ImageCanvas, rel: tuple[float, float, float, float]) -> None:
    if canvas.image is None:
        return
    image = canvas.displayed_rect()
    x, y, w, h = rel
    canvas.view.setRange(rect=QRectF(image.x() + x * image.width(), image.y() + y * image.height(),
                                     w * image.width(), h * image.height()), padding=0)


def same_scale(source: LoadedImage, target: LoadedImage) -> bool:
    """Whether a window's numbers mean the same on both images."""
    return source.kind == target.kind and source.bits == target.bits


class ViewLink(QObject):
    """Links every canvas given; ``enabled`` turns it on and off (on by default)."""

    def __init__(self, canvases: list[ImageCanvas], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.canvases: list[ImageCanvas] = []
        self.enabled = True
        self._applying = False
        for canvas in canvases:
            self.add(canvas)

    def add(self, canvas: ImageCanvas) -> None:
        self.canvases.append(canvas)
        canvas.view.sigRangeChanged.connect(lambda *_a, c=canvas: self._on_range(c))
        canvas.windowChanged.connect(lambda window, c=canvas: self._on_window(c, window))

    def _targets(self, source: ImageCanvas) -> list[ImageCanvas]:
        return [c for c in self.canvases if c is not source and c.isVisible() and c.image is not None]

    def _on_range(self, source: ImageCanvas) -> None:
        if not self.enabled or self._applying:
            return
        rel = relative_view(source)
        if rel is None:
            return
        self._applying = True
        try:
            for target in self._targets(source):
                apply_relative_view(target, rel)
        finally:
            self._applying = False

    def _on_window(self, source: ImageCanvas, window: Window) -> None:
        if not self.enabled or self._applying or source.image is None or window is None:
            return
        self._applying = True
        try:
            for target in self._targets(source):
                if same_scale(source.image, target.image):
                    target.set_window(window)
        finally:
            self._applying = False

    @contextlib.contextmanager
    def paused(self) -> Iterator[None]:
        """A new image going into a viewport must not push its default view onto the others."""
        applying, self._applying = self._applying, True
        try:
            yield
        finally:
            self._applying = applying

    def follow(self, source: ImageCanvas) -> None:
        """Bring the others to ``source``'s view now (after linking was turned on)."""
        if source.image is not None:
            self._on_range(source)
            if source.window is not None:
                self._on_window(source, source.window)
