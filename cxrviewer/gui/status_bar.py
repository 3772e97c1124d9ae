"""Status bar: pixel under the cursor, current window/level, zoom."""

from __future__ import annotations

from PySide6.QtWidgets import QLabel, QStatusBar

from cxrviewer.io import Window


def format_value(value: float) -> str:
    return f"{value:.0f}" if float(value).is_integer() else f"{value:.2f}"


def format_level(value: float) -> str:
    """Window width/centre as readers expect: whole numbers, one decimal only when it matters."""
    rounded = round(float(value), 1)
    return f"{rounded:.0f}" if rounded.is_integer() or abs(rounded) >= 1000 else f"{rounded:.1f}"


def format_window(window: Window) -> str:
    return f"W {format_level(window.width)}  L {format_level(window.center)}"


class ViewerStatusBar(QStatusBar):
    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.pixel_label = QLabel()
        self.window_label = QLabel()
        self.zoom_label = QLabel()
        self.pixel_label.setMinimumWidth(200)
        self.window_label.setMinimumWidth(220)
        for label in (self.pixel_label, self.window_label, self.zoom_label):
            self.addPermanentWidget(label)

    def show_pixel(self, x: int, y: int, value: float) -> None:
        self.pixel_label.setText(f"x {x}  y {y}  value {format_value(value)}")

    def clear_pixel(self) -> None:
        self.pixel_label.setText("")

    def clear_image_info(self) -> None:
        """No image on screen: nothing to report, rather than the last image's numbers."""
        for label in (self.pixel_label, self.window_label, self.zoom_label):
            label.setText("")

    def show_window(self, window: Window | None) -> None:
        if window is None:
            self.window_label.setText("")
            return
        self.window_label.setText(f"{format_window(window)}  ({window.name})")

    def show_zoom(self, percent: float) -> None:
        self.zoom_label.setText(f"Zoom {percent:.0f}%")
