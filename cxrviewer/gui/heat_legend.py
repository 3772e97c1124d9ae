"""The heat map's colour bar and what its colours mean, under the heat-map toggle."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import QHBoxLayout, QLabel, QWidget

from cxrviewer.imaging.heatmap import LEGEND_TEXT, legend_strip

BAR_WIDTH, BAR_HEIGHT = 180, 10


def _bar_pixmap() -> QPixmap:
    """The renderer's own lookup table over a mid-grey, as it looks on an image."""
    rgba = legend_strip(BAR_WIDTH, BAR_HEIGHT).astype("float32")
    alpha = rgba[..., 3:4] / 255.0
    rgb = (rgba[..., :3] * alpha + 128.0 * (1.0 - alpha) + 0.5).astype("uint8").copy()
    image = QImage(rgb.data, BAR_WIDTH, BAR_HEIGHT, 3 * BAR_WIDTH, QImage.Format.Format_RGB888).copy()
    return QPixmap.fromImage(image)


class HeatLegend(QWidget):
    """The colour bar; ``caption`` is a separate word-wrapped label the pane lays out as its own row
    (a wrapped label nested in this widget's layout was clipped by the form's row height)."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 2, 0, 0)
        low, high = QLabel("none"), QLabel("most")
        self.bar = QLabel()
        self.bar.setPixmap(_bar_pixmap())
        for widget in (low, self.bar, high):
            row.addWidget(widget)
        row.addStretch(1)
        self.caption = QLabel()
        self.caption.setObjectName("hint")
        self.caption.setWordWrap(True)
        self.caption.setTextFormat(Qt.TextFormat.PlainText)
        self.setToolTip(LEGEND_TEXT)
        self.caption.setToolTip(LEGEND_TEXT)
        self.setVisible(False)

    def setVisible(self, visible: bool) -> None:  # noqa: N802 - Qt's name; the caption goes with the bar
        super().setVisible(visible)
        self.caption.setVisible(visible)

    def set_strength(self, class_title: str | None, probability: float) -> None:
        name = class_title or "the class shown"
        # One line: wrapped labels in the pane's form get clipped when the dock is short; the
        # full explanation is the tooltip.
        self.caption.setText(f"{name}: drawn at {probability:.0%} strength (its probability)")
