"""The current view as a PNG at the image's full resolution, heat map included.

What is written: every pixel of the image (not the zoomed/panned part on screen),
in the window, inversion, rotation and flip on screen, with the heat map blended
exactly as displayed (same colour table, same opacity) when it is shown. The
corner text (patient name, ID, dates) is burned in only when the reader asks.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import QBuffer, QIODevice, QRect, Qt
from PySide6.QtGui import QColor, QFont, QImage, QPainter

from cxrviewer.atomic_files import atomic_write_bytes
from cxrviewer.imaging.heatmap import compose_rgb

from .orientation import Orientation

CORNERS = {
    "top_left": Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop,
    "top_right": Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignTop,
    "bottom_left": Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignBottom,
    "bottom_right": Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignBottom,
}


def to_qimage(rgb: np.ndarray, orientation: Orientation) -> QImage:
    """A QImage that owns its pixels, turned and flipped as on screen."""
    rgb = np.ascontiguousarray(rgb)
    height, width = rgb.shape[:2]
    image = QImage(rgb.data, width, height, 3 * width, QImage.Format.Format_RGB888).copy()
    if orientation.is_identity:
        return image
    # The canvas's own transform; QImage.transformed drops the translation, which is what we want.
    return image.transformed(orientation.qtransform(width, height))


def burn_in_corners(image: QImage, corners: dict[str, list[str]]) -> None:
    painter = QPainter(image)
    font = QFont()
    font.setPixelSize(max(12, image.height() // 60))
    painter.setFont(font)
    margin = max(8, image.height() // 100)
    area = QRect(margin, margin, image.width() - 2 * margin, image.height() - 2 * margin)
    for corner, lines in corners.items():
        if not lines:
            continue
        text = "\n".join(lines)
        bounds = painter.boundingRect(area, CORNERS[corner], text)
        painter.fillRect(bounds.adjusted(-4, -2, 4, 2), QColor(0, 0, 0, 140))
        painter.setPen(QColor("#e6e6e6"))
        painter.drawText(area, CORNERS[corner], text)
    painter.end()


def save_png_atomic(image: QImage, path: Path) -> None:
    buffer = QBuffer()
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    if not image.save(buffer, "PNG"):
        raise OSError(f"could not encode {Path(path).name} as PNG")
    atomic_write_bytes(path, bytes(buffer.data()))