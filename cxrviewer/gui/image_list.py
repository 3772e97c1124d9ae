"""The left-hand list of opened files: previews, failure markers, the AI reading of each.

Every row has two lines (name, then the AI reading or a blank) so rows keep one
height as readings arrive. ``set_sort(label)`` orders the list as a triage
worklist: highest probability of ``label`` first, images flagged out of
distribution next (their probabilities mean nothing), then the rest in the order
opened; ``set_sort(None)`` restores the order opened. Sorting keeps the selection.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import QPointF, QSize, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QIcon, QPainter, QPen, QPixmap
from PySide6.QtWidgets import QAbstractItemView, QListWidget, QListWidgetItem

from .ai_format import list_badge
from .thumbnails import THUMBNAIL_SIDE, thumbnail_icon

_PATH_ROLE = Qt.ItemDataRole.UserRole
_ERROR_ROLE = Qt.ItemDataRole.UserRole + 1
_ORDER_ROLE = Qt.ItemDataRole.UserRole + 2  # position when opened
_READING_ROLE = Qt.ItemDataRole.UserRole + 3  # (probabilities dict, ood flag) or None
_SORT_ROLE = Qt.ItemDataRole.UserRole + 4  # the key __lt__ compares
_RESULT_ROLE = Qt.ItemDataRole.UserRole + 5  # the InferenceResult (without its map) behind the badge
_FAILED_COLOUR = QColor("#ff8a80")
_OOD_COLOUR = QColor("#ffb74d")
_NO_READING = "\u00a0"  # a blank second line that still takes a line's height


class _Row(QListWidgetItem):
    """A list row that sorts by the key the list gives it."""

    def __lt__(self, other: QListWidgetItem) -> bool:
        return self.data(_SORT_ROLE) < other.data(_SORT_ROLE)


def _sort_key(item: QListWidgetItem, label: str | None) -> tuple:
    order = item.data(_ORDER_ROLE)
    reading = item.data(_READING_ROLE)
    if label is None:
        return (0, 0.0, order)
    if reading is None or label not in reading[0]:
        return (2, 0.0, order)
    probabilities, ood = reading
    return (1, 0.0, order) if ood else (0, -float(probabilities[label]), order)


def _failed_icon() -> QIcon:
    """A dark tile with a muted red cross: visible in a list, not a glaring warning sign."""
    side = THUMBNAIL_SIDE
    pixmap = QPixmap(side, side)
    pixmap.fill(QColor("#202020"))
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setPen(QPen(_FAILED_COLOUR, 4))
    inset = side * 0.32
    painter.drawLine(QPointF(inset, inset), QPointF(side - inset, side - inset))
    painter.drawLine(QPointF(side - inset, inset), QPointF(inset, side - inset))
    painter.setPen(QPen(QColor("#5a3030"), 2))
    painter.drawRect(1, 1, side - 2, side - 2)
    painter.end()
    return QIcon(pixmap)


class ImageList(QListWidget):
    """One row per file. ``currentPathChanged`` fires when the reader picks a row."""

    currentPathChanged = Signal(object)  # Path
    rowsChanged = Signal()  # rows added or removed (the study tree regroups)
    readingChanged = Signal(object)  # Path: its AI reading or failure mark changed

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("imageList")
        self.setIconSize(QSize(THUMBNAIL_SIDE, THUMBNAIL_SIDE))
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setUniformItemSizes(True)
        self.setWordWrap(True)
        self.setTextElideMode(Qt.TextElideMode.ElideMiddle)  # the tooltip has the full path
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setResizeMode(QListWidget.ResizeMode.Adjust)
        self.setAcceptDrops(False)  # drops are handled by the main window
        self.viewport().setAcceptDrops(False)
        self.currentItemChanged.connect(self._on_current_changed)
        self._rows: dict[Path, QListWidgetItem] = {}
        self._opened = 0
        self._sort_label: str | None = None
        self._placeholder = thumbnail_icon(np.full((THUMBNAIL_SIDE, THUMBNAIL_SIDE), 24, np.uint8))
        self._failed_icon = _failed_icon()

    def add_paths(self, paths: list[Path]) -> list[Path]:
        """Append files not already listed; returns the ones that were new."""
        added = []
        for path in paths:
            if path in self._rows:
                continue
            item = _Row(self._placeholder, f"{path.name}\n{_NO_READING}")
            # The Path itself, not str(path): a QString drops the surrogates that stand for
            # bytes of a file name that is not UTF-8, and the file could no longer be found.
            item.setData(_PATH_ROLE, path)
            item.setData(_ORDER_ROLE, self._opened)
            item.setData(_READING_ROLE, None)
            item.setData(_SORT_ROLE, _sort_key(item, self._sort_label))
            self._opened += 1
            item.setToolTip(str(path))
            self.addItem(item)
            self._rows[path] = item
            added.append(path)
        if added:
            self.rowsChanged.emit()
        return added

    def paths(self) -> list[Path]:
        return [Path(self.item(i).data(_PATH_ROLE)) for i in range(self.count())]

    def current_path(self) -> Path | None:
        item = self.currentItem()
        return Path(item.data(_PATH_ROLE)) if item else None

    def select_path(self, path: Path) -> None:
        item = self._rows.get(path)
        if item is not None:
            self.setCurrentItem(item)

    def step(self, delta: int) -> bool:
        """Move the selection by delta rows; False at either end."""
        row = self.currentRow() + delta if self.currentRow() >= 0 else 0
        if not 0 <= row < self.count():
            return False
        self.setCurrentRow(row)
        return True

    def go_to(self, row: int) -> None:
        """Select a row; negative rows count from the end, as in Python."""
        if self.count():
            self.setCurrentRow(row % self.count())

    def clear_all(self) -> None:
        self.clear()
        self._rows.clear()
        self._opened = 0
        self.rowsChanged.emit()

    # ----- AI readings and triage order -------------------------------------------------
    def set_reading(self, path: Path, result) -> None:
        """Show an InferenceResult's label and confidence (or an OOD mark) under the name."""
        item = self._rows.get(path)
        if item is None or item.data(_ERROR_ROLE) is not None:
            return
        item.setData(_READING_ROLE, (dict(result.probabilities), bool(result.ood_flag)))
        item.setData(_RESULT_ROLE, result)
        item.setText(f"{path.name}\n{list_badge(result, self._sort_label)}")
        item.setForeground(QBrush(_OOD_COLOUR) if result.ood_flag else QBrush())
        item.setData(_SORT_ROLE, _sort_key(item, self._sort_label))
        self.readingChanged.emit(path)

    def mark_analysis_failed(self, path: Path, message: str) -> None:
        item = self._rows.get(path)
        if item is None or item.data(_ERROR_ROLE) is not None:
            return
        item.setData(_READING_ROLE, None)
        item.setData(_RESULT_ROLE, None)
        item.setText(f"{path.name}\n(not analysed)")
        item.setToolTip(f"{path}\n\n{message}")
        self.readingChanged.emit(path)

    def clear_readings(self) -> None:
        """Another model: the old readings no longer apply."""
        for path, item in self._rows.items():
            if item.data(_ERROR_ROLE) is None:
                item.setData(_READING_ROLE, None)
                item.setData(_RESULT_ROLE, None)
                item.setText(f"{path.name}\n{_NO_READING}")
                item.setForeground(QBrush())
                item.setToolTip(str(path))
                self.readingChanged.emit(path)
        self.resort()

    def result_for(self, path: Path):
        """The InferenceResult (without its map) behind a row's reading, or None."""
        item = self._rows.get(path)
        return item.data(_RESULT_ROLE) if item is not None else None

    def reading_text(self, path: Path) -> str:
        item = self._rows.get(path)
        return item.text().split("\n", 1)[1].strip() if item is not None else ""

    def set_sort(self, label: str | None) -> None:
        """Highest probability of ``label`` first; None: the order the images were opened."""
        self._sort_label = label
        self.resort()

    @property
    def sort_label(self) -> str | None:
        return self._sort_label

    def resort(self) -> None:
        for path, item in self._rows.items():
            item.setData(_SORT_ROLE, _sort_key(item, self._sort_label))
            result = item.data(_RESULT_ROLE)
            if result is not None and item.data(_READING_ROLE) is not None:
                item.setText(f"{path.name}\n{list_badge(result, self._sort_label)}")
        self.sortItems(Qt.SortOrder.AscendingOrder)
        current = self.currentItem()
        if current is not None:
            self.scrollToItem(current)

    def set_thumbnail(self, path: Path, thumbnail: np.ndarray) -> None:
        item = self._rows.get(path)
        if item is not None and item.data(_ERROR_ROLE) is None:
            item.setIcon(thumbnail_icon(thumbnail))

    def mark_failed(self, path: Path, reason: str) -> None:
        item = self._rows.get(path)
        if item is None:
            return
        item.setData(_ERROR_ROLE, reason)
        item.setIcon(self._failed_icon)
        item.setText(f"⚠ {path.name}\n(cannot open)")
        item.setData(_READING_ROLE, None)
        item.setData(_SORT_ROLE, _sort_key(item, self._sort_label))
        item.setForeground(QBrush(_FAILED_COLOUR))
        item.setToolTip(f"{path}\n\n{reason}")
        self.readingChanged.emit(path)

    def error_for(self, path: Path) -> str | None:
        item = self._rows.get(path)
        return item.data(_ERROR_ROLE) if item is not None else None

    def _on_current_changed(self, current: QListWidgetItem | None, _previous) -> None:
        if current is not None:
            self.currentPathChanged.emit(Path(current.data(_PATH_ROLE)))
