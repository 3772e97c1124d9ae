"""The heat map's colour bar and what its colours mean, under the heat-map toggle."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import QHBoxLayout, QLabel, QVBoxLayout, QWidget

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
    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        column = QVBoxLayout(self)
        column.setContentsMargins(0, 2, 0, 2)
        row = QHBoxLayout()
        low, high = QLabel("none"), QLabel("most")
        self.bar = QLabel()
        self.bar.setPixmap(_bar_pixmap())
        for widget in (low, self.bar, high):
            row.addWidget(widget)
        row.addStretch(1)
        column.addLayout(row)
        self.caption = QLabel()
        self.caption.setObjectName("hint")
        self.caption.setWordWrap(True)
        self.caption.setTextFormat(Qt.TextFormat.PlainText)
        column.addWidget(self.caption)
        self.setToolTip(LEGEND_TEXT)
        self.hide()

    def set_strength(self, class_title: str | None, probability: float) -> None:
        name = class_title or "the class shown"
        self.caption.setText(f"Attention for {name}, drawn at {probability:.0%} strength (its probability): "
                             "a class the model finds unlikely leaves little or no colour.")
