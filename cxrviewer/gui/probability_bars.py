"""Per-class probabilities as labelled horizontal bars, with the number beside each bar."""

from __future__ import annotations

from collections.abc import Mapping

from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFont, QFontMetrics, QPainter
from PySide6.QtWidgets import QSizePolicy, QWidget

from .ai_format import label_title, percent

_ROW = 28  # px per class
_GAP = 8
_TOP_BAR = QColor("#6f9fe0")  # the most probable class: a calm blue, not a red "alarm"
_OTHER_BAR = QColor("#56606e")
_DIMMED_BAR = QColor("#3c3c3c")
_TRACK = QColor("#262626")
_TEXT = QColor("#e0e0e0")
_DIMMED_TEXT = QColor("#8a8a8a")


class ProbabilityBars(QWidget):
    """``set_probabilities({'normal': 0.1, ...})``; ``dimmed`` greys everything out (OOD).

    ``emphasise_top=False`` draws every class alike: when the model is uncertain a
    bold, coloured top bar would read as the verdict the pane withholds.
    """

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self._rows: list[tuple[str, float]] = []
        self._top: str | None = None
        self._dimmed = False
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        font = QFont(self.font())
        font.setPointSizeF(font.pointSizeF() * 1.1)
        self.setFont(font)

    def set_probabilities(self, probabilities: Mapping[str, float], dimmed: bool = False,
                          emphasise_top: bool = True) -> None:
        self._rows = [(label, float(p)) for label, p in probabilities.items()]  # the model's order
        top = max(probabilities, key=probabilities.get) if probabilities else None
        self._top = top if emphasise_top and not dimmed else None
        self._dimmed = dimmed
        self.setAccessibleDescription(self.as_text())
        self.setToolTip(self.as_text())
        self.updateGeometry()
        self.update()

    def clear(self) -> None:
        self.set_probabilities({})

    def as_text(self) -> str:
        return "\n".join(f"{label_title(label)}: {percent(p)}" for label, p in self._rows)

    def rows(self) -> list[tuple[str, float]]:
        return list(self._rows)

    def emphasised(self) -> str | None:
        """The class drawn as the reading (bold, coloured), if any."""
        return self._top

    def sizeHint(self) -> QSize:  # noqa: N802 (Qt API)
        return QSize(240, max(len(self._rows), 1) * _ROW)

    def minimumSizeHint(self) -> QSize:  # noqa: N802 (Qt API)
        return QSize(180, len(self._rows) * _ROW)

    def paintEvent(self, _event) -> None:  # noqa: N802 (Qt API)
        if not self._rows:
            return
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        bold = QFont(self.font())
        bold.setBold(True)  # the top class is bold: measure in bold so it never runs into its bar
        metrics = QFontMetrics(bold)
        label_w = max(metrics.horizontalAdvance(label_title(label)) for label, _ in self._rows) + _GAP
        value_w = metrics.horizontalAdvance("100 %") + _GAP
        bar_w = max(self.width() - label_w - value_w, 20)
        for i, (label, p) in enumerate(self._rows):
            self._paint_row(painter, i * _ROW, label, p, label_w, bar_w)
        painter.end()

    def _paint_row(self, painter: QPainter, y: int, label: str, p: float, label_w: int, bar_w: int) -> None:
        is_top = label == self._top
        text_colour = _DIMMED_TEXT if self._dimmed else _TEXT
        bold = QFont(self.font())
        bold.setBold(is_top and not self._dimmed)
        painter.setFont(bold)
        painter.setPen(text_colour)
        align_left = Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft
        painter.drawText(QRectF(0, y, label_w, _ROW), align_left, label_title(label))
        track = QRectF(label_w, y + 6, bar_w, _ROW - 12)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(_TRACK)
        painter.drawRoundedRect(track, 3, 3)
        colour = _DIMMED_BAR if self._dimmed else (_TOP_BAR if is_top else _OTHER_BAR)
        painter.setBrush(colour)
        filled = QRectF(track.left(), track.top(), max(track.width() * min(max(p, 0.0), 1.0), 1.0), track.height())
        painter.drawRoundedRect(filled, 3, 3)
        painter.setPen(text_colour)
        align_right = Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignRight
        painter.drawText(QRectF(label_w + bar_w, y, self.width() - label_w - bar_w, _ROW), align_right, percent(p))
