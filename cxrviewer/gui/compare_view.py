"""Comparison layouts: the image on screen beside the same patient's earlier studies.

SINGLE (the default) is the one canvas as ever. ONE_BY_TWO puts the prior (the same Patient
ID's most recent earlier study among the files open) to the right of the current image;
TWO_BY_TWO adds the next two earlier studies. Each viewport is an ImageCanvas with a caption
(which study, its date, the AI's reading of that image); zoom, pan and window/level are
linked (ViewLink) unless the reader turns that off. Priors are decoded by a loader of their
own, so they never queue behind, or cancel, the image the reader asked for.
"""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import QRect, Qt, QTimer
from PySide6.QtWidgets import QGridLayout, QLabel, QWidget

from cxrviewer.io import LoadedImage
from cxrviewer.io.display_basics import format_date
from cxrviewer.studies import earlier_studies

from .ai_format import list_badge
from .canvas import ImageCanvas
from .corner_overlay import CORNER_LABEL_NAME
from .loader import DISPLAY, ImageLoader, LoadResult
from .view_link import ViewLink

log = logging.getLogger(__name__)

SINGLE, ONE_BY_TWO, TWO_BY_TWO = (1, 1), (1, 2), (2, 2)
_CAPTION_TOP = 6  # px
_CAPTION_STYLE = ("background: rgba(0, 0, 0, 160); color: #e0e0e0; padding: 3px 8px;"
                  " border-radius: 3px; font-weight: bold;")


def caption_text(role: str, image_date: str, result) -> str:
    """'PRIOR  2023-01-05  ·  AI: Normal 91 %' (no patient name: the list says whose films these are)."""
    parts = [role]
    if image_date:
        parts.append(format_date(image_date))
    parts.append(f"AI: {list_badge(result)}" if result is not None else "AI: not read yet")
    return "  ·  ".join(parts)


class _Caption(QLabel):
    """A caption pinned to the top centre of a canvas."""

    def __init__(self, canvas: ImageCanvas) -> None:
        super().__init__(canvas)
        self.setObjectName("viewportCaption")
        self.setStyleSheet(_CAPTION_STYLE)
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self._canvas = canvas
        canvas.installEventFilter(self)
        self.hide()

    def show_text(self, text: str) -> None:
        self.setText(text)
        self.adjustSize()
        self._place()
        self.show()
        self.raise_()
        QTimer.singleShot(0, self._place)  # again once the corner text for this image is laid out

    def _place(self) -> None:
        """Top centre, or below the canvas's corner text where a narrow viewport would cover it
        (the patient's name and ID are up there)."""
        x, y = max((self._canvas.width() - self.width()) // 2, 0), _CAPTION_TOP
        wanted = QRect(x, y, self.width(), self.height())
        for corner in self._canvas.findChildren(QLabel, CORNER_LABEL_NAME):
            if corner.isVisible() and corner.geometry().intersects(wanted):
                y = max(y, corner.geometry().bottom() + _CAPTION_TOP)
        self.move(x, y)

    def eventFilter(self, obj, event) -> bool:  # noqa: N802 (Qt API)
        if obj is self._canvas and event.type() == event.Type.Resize:
            QTimer.singleShot(0, self._place)  # after the corner text has been re-laid out for the size
        return False


class CompareView(QWidget):
    """The window's central widget: ``main`` (the window's canvas) plus up to three priors."""

    def __init__(self, main: ImageCanvas, window, parent=None) -> None:
        super().__init__(parent)
        self.main = main
        self._window = window
        self.layout_mode = SINGLE
        # The prior viewports are built when a comparison layout is first chosen: three
        # canvases are a third of the window's construction time, for readers who compare.
        self.priors: list[ImageCanvas] = []
        self.captions = [_Caption(main)]
        self.link = ViewLink([main], self)
        self._shown: list[Path | None] = [None, None, None]  # what each prior viewport shows or waits for
        self._queue: list[tuple[int, Path]] = []  # (viewport, path) still to decode, one at a time
        self._request = (0, -1)  # (loader request id, viewport) of the decode in flight
        self._loader: ImageLoader | None = None
        self._grid = QGridLayout(self)
        self._grid.setContentsMargins(0, 0, 0, 0)
        self._grid.setSpacing(2)
        self._grid.addWidget(main, 0, 0)

    # ----- layout ------------------------------------------------------------------------
    def set_layout(self, mode: tuple[int, int]) -> None:
        self.layout_mode = mode
        if mode != SINGLE:
            self._build_priors()
        self._apply_layout()
        self.refresh()

    def _build_priors(self) -> None:
        for cell in ((0, 1), (1, 0), (1, 1))[len(self.priors):]:
            canvas = ImageCanvas(self)
            canvas.setVisible(False)
            self._grid.addWidget(canvas, *cell)
            self.priors.append(canvas)
            self.captions.append(_Caption(canvas))
            self.link.add(canvas)

    def _slots(self) -> int:
        rows, cols = self.layout_mode
        return rows * cols - 1

    def _apply_layout(self) -> None:
        for n, canvas in enumerate(self.priors):
            canvas.setVisible(n < self._slots())
        if self.layout_mode == SINGLE:
            for caption in self.captions:
                caption.hide()

    def set_linked(self, linked: bool) -> None:
        self.link.enabled = linked
        if linked:
            self.link.follow(self.main)

    # ----- priors --------------------------------------------------------------------------
    def prior_paths(self, image: LoadedImage | None) -> list[Path]:
        """The first image of each earlier study of the patient on screen, most recent first."""
        if image is None:
            return []
        studies = earlier_studies(image.identity, self._window.list_panel.study_index.items())
        return [study.paths()[0] for study in studies if study.paths()][: self._slots()]

    def refresh(self) -> None:
        """The image on screen changed (or the layout, or the files open): fill the viewports."""
        if self.layout_mode == SINGLE:
            return
        image = self.main.image
        wanted = self.prior_paths(image)
        self._queue = []
        for n, canvas in enumerate(self.priors[: self._slots()]):
            path = wanted[n] if n < len(wanted) else None
            self._shown[n] = path
            if path is None:
                canvas.clear_image("No earlier study of this patient is open." if image is not None else "")
            elif canvas.image is None or canvas.image.path != path:
                canvas.clear_image("Loading the prior…")
                self._queue.append((n, path))
        self._load_next()
        self.refresh_captions()

    def _load_next(self) -> None:
        """Decode the next prior (the loader's display lane keeps only the latest request)."""
        if self._queue:
            n, path = self._queue.pop(0)
            self._request = (self._loader_for().request(path, DISPLAY), n)

    def _loader_for(self) -> ImageLoader:
        if self._loader is None:  # started on first use: a reader who never compares has no extra thread
            self._loader = ImageLoader(self)
            self._loader.loaded.connect(self._on_loaded)
        return self._loader

    def _on_loaded(self, result: LoadResult) -> None:
        request_id, n = self._request
        if result.request_id != request_id:
            return  # superseded: the reader has moved on
        self._load_next()
        if self._shown[n] != result.path:
            return
        canvas = self.priors[n]
        if result.error is not None or result.image is None:
            canvas.clear_image(result.error or "The prior could not be opened.")
            return
        with self.link.paused():
            canvas.set_image(result.image, result.presets[0] if result.presets else None)
        if self.link.enabled:
            self.link.follow(self.main)
        self.refresh_captions()

    def refresh_captions(self, *_args) -> None:
        if self.layout_mode == SINGLE:
            return
        image_list = self._window.image_list
        for role, canvas, caption in zip(("CURRENT", "PRIOR", "PRIOR", "PRIOR"), (self.main, *self.priors),
                                         self.captions):
            image = canvas.image
            if image is None or not canvas.isVisible():
                caption.hide()
                continue
            caption.show_text(caption_text(role, image.identity.study_date, image_list.result_for(image.path)))

    def shutdown(self) -> None:
        if self._loader is not None:
            self._loader.shutdown()
