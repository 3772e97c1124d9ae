"""Orientation letters at the middle of each canvas edge (R/L, A/P, H/F), following rotate and flip.

The letters come from the image's patient axes (cxrviewer.imaging.patient_orientation);
an image whose file does not say gets none, rather than a guess. They stay in the middle
strip the corner text leaves free (corner_overlay.MIDDLE_GAP).
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtWidgets import QLabel, QWidget

from cxrviewer.imaging.patient_orientation import EDGES, edge_letters
from cxrviewer.io import LoadedImage

from .orientation import Orientation

_MARGIN = 10
_STYLE = ("color: #ffd27f; background: rgba(0, 0, 0, 120); font-size: 13pt; font-weight: bold;"
          " padding: 1px 4px; border-radius: 2px;")


class OrientationMarkers(QObject):
    def __init__(self, host: QWidget) -> None:
        super().__init__(host)
        self._host = host
        self.labels = {edge: self._make_label() for edge in EDGES}
        self._visible = True
        host.installEventFilter(self)

    def _make_label(self) -> QLabel:
        label = QLabel(self._host)
        label.setObjectName("orientationMarker")
        label.setStyleSheet(_STYLE)
        label.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        label.setTextFormat(Qt.TextFormat.PlainText)
        label.hide()
        return label

    def show_for(self, image: LoadedImage | None, orientation: Orientation) -> None:
        letters = edge_letters(image.patient_axes, orientation.matrix) if image is not None else {}
        for edge, label in self.labels.items():
            label.setText(letters.get(edge, ""))
            label.adjustSize()
        self._show_or_hide()
        self._place()

    def letters(self) -> dict[str, str]:
        return {edge: label.text() for edge, label in self.labels.items() if label.text()}

    def set_visible(self, visible: bool) -> None:
        self._visible = visible
        self._show_or_hide()

    def _show_or_hide(self) -> None:
        for label in self.labels.values():
            label.setVisible(self._visible and bool(label.text()))

    def _place(self) -> None:
        w, h = self._host.width(), self._host.height()
        for edge, label in self.labels.items():
            x = {"left": _MARGIN, "right": w - label.width() - _MARGIN}.get(edge, (w - label.width()) // 2)
            y = {"top": _MARGIN, "bottom": h - label.height() - _MARGIN}.get(edge, (h - label.height()) // 2)
            label.move(x, y)

    def eventFilter(self, obj, event):  # noqa: N802 (Qt API)
        if obj is self._host and event.type() == QEvent.Type.Resize:
            self._place()
        return False
