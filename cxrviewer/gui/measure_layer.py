"""The canvas's measurements: drawing tools, selection, delete, undo, and saving per image.

One layer item, added to the canvas like the heat map (so it shares the image's
rotate/flip transform), holds a MeasureItem per annotation in image coordinates.
With a tool chosen, a left-drag or click on the image draws; with none, the view
pans as before. Right-drag stays window/level either way. Every finished change is
written to the image's sidecar (cxrviewer.measure.store) and can be undone.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import pyqtgraph as pg
from PySide6.QtCore import QObject, QStandardPaths, Qt, Signal

from cxrviewer.io import LoadedImage
from cxrviewer.measure.annotation import ANGLE, ARROW, CTR, ELLIPSE, RECTANGLE, RULER, TEXT, Annotation
from cxrviewer.measure.calibration import Calibration
from cxrviewer.measure.drafting import Draft
from cxrviewer.measure.history import History
from cxrviewer.measure.labels import label
from cxrviewer.measure.store import AnnotationStore, image_key

from .measure_item import MeasureItem

log = logging.getLogger(__name__)

HINTS = {
    RULER: "Ruler: drag from one point to the other.",
    ANGLE: "Angle: drag along the first arm to the vertex, then click where the second arm ends.",
    ELLIPSE: "Ellipse ROI: drag across it (mean, SD, min, max on the file's values; area).",
    RECTANGLE: "Rectangle ROI: drag across it (mean, SD, min, max on the file's values; area).",
    CTR: "Cardiothoracic ratio: drag the widest inner thorax, then the widest heart.",
    ARROW: "Arrow: drag from its tail to what it points at.",
    TEXT: "Text: click where it goes.",
}
CTR_SECOND_HINT = "Now drag the heart's widest span (right heart border to left)."
ANGLE_SECOND_HINT = "Now click where the second arm ends."


def _discard(item: MeasureItem) -> None:
    scene = item.scene()
    if scene is not None:
        scene.removeItem(item)  # a parentless item would otherwise stay in the scene


def annotations_folder(settings) -> Path:
    """Where sidecars go: the settings' "annotations/folder" (tests, or a shared drive), else the
    user's application data folder; never beside the images, which may be on a patient share."""
    chosen = settings.value("annotations/folder")
    if chosen:
        return Path(str(chosen))
    app_data = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.AppDataLocation)
    return Path(app_data or Path.home() / ".cxrviewer") / "annotations"


class MeasureLayer(QObject):
    toolChanged = Signal(object)  # a kind from cxrviewer.measure.annotation, or None (pan)
    changed = Signal()  # the current image's annotations changed (drawn, moved, deleted, undone)
    message = Signal(str)

    def __init__(self, canvas, folder: Path, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.canvas = canvas
        self.store = AnnotationStore(folder)
        self.group = pg.ItemGroup()
        self.group.setZValue(20)  # above the heat map and the lung outline
        canvas.add_layer(self.group)
        canvas.view.tool_handler = self
        canvas.imageChanged.connect(self.show_image)
        # Asks for a text annotation's words; tests replace it.
        self.ask_text: Callable[[], str | None] = self._ask_text
        self.tool: str | None = None
        self._items: list[MeasureItem] = []
        self._selected: MeasureItem | None = None
        self._draft: Draft | None = None
        self._draft_item: MeasureItem | None = None
        self._key = ""
        self._committed: tuple[Annotation, ...] = ()
        self._histories: dict[str, History] = {}

    # ----- the image --------------------------------------------------------------
    @property
    def calibration(self) -> Calibration:
        image = self.canvas.image
        return Calibration.of(image.pixel_spacing, image.spacing_source) if image else Calibration()

    def describe(self, annotation: Annotation) -> str:
        image = self.canvas.image
        return label(annotation, self.calibration, image.pixels if image is not None else None)

    def show_image(self, image: LoadedImage | None) -> None:
        """A new image on the canvas: its saved annotations, or none."""
        self._cancel_draft()
        self._key = self._key_of(image) if image is not None else ""
        saved = tuple(self.store.load(self._key)) if self._key else ()
        self._rebuild(saved)
        self._committed = saved

    @staticmethod
    def _key_of(image: LoadedImage) -> str:
        try:
            return image_key(image.instance_uid, image.path)
        except OSError as exc:  # the file went away since it was decoded
            log.warning("annotations not available for this image (%s)", type(exc).__name__)
            return ""

    def _image_width(self) -> int:
        return self.canvas.image.width if self.canvas.image is not None else 0

    def annotations(self) -> tuple[Annotation, ...]:
        return tuple(item.annotation() for item in self._items)

    def labelled(self) -> list[tuple[Annotation, str]]:
        """Each annotation with its label, as exports draw them."""
        return [(a, self.describe(a)) for a in self.annotations()]

    # ----- editing ------------------------------------------------------------------
    def add(self, annotation: Annotation) -> MeasureItem:
        item = self._make_item(annotation)
        self.select(item)
        self._record()
        return item

    def delete_selected(self) -> None:
        if self._selected is None:
            self.message.emit("Nothing selected: click a measurement first.")
            return
        self._remove(self._selected)
        self._record()

    def clear_all(self) -> None:
        if self._items:
            for item in list(self._items):
                self._remove(item)
            self._record()

    def undo(self) -> None:
        if self._draft is not None and self._draft.started:
            self._cancel_draft()
            return
        state = self._histories.get(self._key, History()).undo() if self._key else None
        if state is None:
            self.message.emit("Nothing to undo.")
            return
        self._rebuild(state)
        self._committed = state
        self._save()
        self.changed.emit()

    def select(self, item: MeasureItem | None) -> None:
        if self._selected is not None and self._selected is not item and self._selected in self._items:
            self._selected.set_selected(False)
        self._selected = item
        if item is not None:
            item.set_selected(True)

    @property
    def selected(self) -> MeasureItem | None:
        return self._selected

    def _make_item(self, annotation: Annotation) -> MeasureItem:
        item = MeasureItem(annotation, self.describe, self._image_width())
        item.setParentItem(self.group)
        item.sigClicked.connect(lambda it, _ev: self.select(it))
        item.sigRegionChangeStarted.connect(self.select)
        item.sigRegionChangeFinished.connect(lambda _it: self._record())
        self._items.append(item)
        return item

    def _remove(self, item: MeasureItem) -> None:
        if item is self._selected:
            self._selected = None
        self._items.remove(item)
        _discard(item)

    def _rebuild(self, state: tuple[Annotation, ...]) -> None:
        for item in list(self._items):
            self._remove(item)
        for annotation in state:
            self._make_item(annotation)

    def _record(self) -> None:
        """After a finished change: remember the state before it for undo, then save."""
        now = self.annotations()
        if not self._key or now == self._committed:
            return
        self._histories.setdefault(self._key, History()).push(self._committed)
        self._committed = now
        self._save()
        self.changed.emit()

    def _save(self) -> None:
        try:
            self.store.save(self._key, self._committed)
        except OSError as exc:
            log.warning("could not save annotations (%s)", type(exc).__name__)
            self.message.emit(f"Could not save the measurements: {exc.strerror or exc}")

    # ----- tools ---------------------------------------------------------------------
    def set_tool(self, kind: str | None) -> None:
        self._cancel_draft()
        self.tool = kind
        self.canvas.setCursor(Qt.CursorShape.CrossCursor if kind else Qt.CursorShape.ArrowCursor)
        self.toolChanged.emit(kind)
        self.message.emit(HINTS[kind] if kind else "Left-drag pans.")

    def escape(self) -> None:
        """Esc: drop a half-drawn measurement; otherwise put the tool down."""
        if self._draft is not None and self._draft.started:
            self._cancel_draft()
        else:
            self.set_tool(None)

    def _image_point(self, scene_pos) -> tuple[float, float]:
        p = self.group.mapFromScene(scene_pos)
        return p.x(), p.y()

    def _new_draft(self) -> Draft | None:
        image = self.canvas.image
        if self.tool is None or image is None:
            return None
        if self._draft is None:
            self._draft = Draft(self.tool, image.width, image.height)
        return self._draft

    def drag(self, ev) -> bool:
        """The view's left-drag while a tool is chosen (ReadingViewBox calls it); True: taken."""
        draft = self._new_draft()
        if draft is None:
            return False
        ev.accept()
        if ev.isStart():
            self.select(None)
            draft.press(self._image_point(ev.buttonDownScenePos()))
        point = self._image_point(ev.scenePos())
        done = draft.release(point) if ev.isFinish() else draft.move(point)
        self._after_step(done)
        return True

    def click(self, ev) -> bool:
        """A left click while a tool is chosen: places text, ends an angle; else deselects."""
        draft = self._new_draft()
        if draft is None:
            self.select(None)
            return False
        ev.accept()
        done = draft.click(self._image_point(ev.scenePos()))
        if done is None and draft.kind not in (TEXT, ANGLE):
            self.select(None)
        self._after_step(done)
        return True

    def _after_step(self, done: Annotation | None) -> None:
        if done is not None:
            self._cancel_draft()
            if done.kind == TEXT:
                text = self.ask_text()
                if not text:
                    return
                done = Annotation(TEXT, done.points, text)
            self.add(done)
            return
        self._show_draft()

    def _show_draft(self) -> None:
        if self._draft_item is not None:
            _discard(self._draft_item)
            self._draft_item = None
        draft = self._draft
        if draft is None or not draft.started:
            return
        self._draft_item = MeasureItem(draft.current(), self.describe, self._image_width(), interactive=False)
        self._draft_item.setParentItem(self.group)
        if draft.kind == CTR and len(draft.points) == 2:
            self.message.emit(CTR_SECOND_HINT)
        elif draft.kind == ANGLE and len(draft.points) == 2:
            self.message.emit(ANGLE_SECOND_HINT)

    def _cancel_draft(self) -> None:
        self._draft = None
        self._show_draft()

    def _ask_text(self) -> str | None:
        from PySide6.QtWidgets import QInputDialog

        text, ok = QInputDialog.getText(self.canvas, "Text annotation", "Text:")
        return text.strip() if ok else None
