"""Measurements burned into an exported view, drawn as on screen: outlines in image
coordinates through the same rotate/flip, labels upright beside them."""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QImage, QPainter, QPen

from cxrviewer.measure.annotation import Annotation
from cxrviewer.measure.placement import place

from .measure_item import COLOUR, LABEL_FILL, shape_path
from .orientation import Orientation


def burn_in_annotations(image: QImage, orientation: Orientation, source_size: tuple[int, int],
                        labelled: list[tuple[Annotation, str]]) -> None:
    """Draw onto ``image`` (the exported view, already turned) the annotations with their labels.
    ``source_size``: (width, height) of the image before it was turned."""
    if not labelled:
        return
    # The canvas's transform as QImage.transformed applied it (translation included).
    to_view = QImage.trueMatrix(orientation.qtransform(*source_size), *source_size)
    scale = max(1.0, max(image.width(), image.height()) / 1000.0)  # lines and text stay visible on big films
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    font = QFont()
    font.setPixelSize(round(13 * scale))
    painter.setFont(font)
    for annotation, text in labelled:
        painter.setTransform(to_view)
        painter.setPen(QPen(QColor(COLOUR), 1.6 * scale, Qt.PenStyle.SolidLine))
        painter.drawPath(shape_path(annotation.kind, [QPointF(*p) for p in annotation.points], 14 * scale))
        painter.resetTransform()
        if text:
            where = place(annotation, source_size[0])
            _draw_label(painter, to_view.map(QPointF(where.x, where.y)), where.anchor, text, scale)
    painter.end()


def _draw_label(painter: QPainter, at: QPointF, anchor: tuple[float, float], text: str, scale: float) -> None:
    bounds = painter.boundingRect(QRectF(0, 0, 4000, 4000), Qt.AlignmentFlag.AlignLeft, text)
    pad = 3 * scale
    rect = QRectF(at.x() - anchor[0] * bounds.width(), at.y() - anchor[1] * bounds.height(),
                  bounds.width(), bounds.height())
    # Kept on the film: a label past its edge would be cut off in the file.
    device = painter.device()
    rect.moveLeft(min(max(rect.left(), pad), device.width() - rect.width() - pad))
    rect.moveTop(min(max(rect.top(), pad), device.height() - rect.height() - pad))
    painter.fillRect(rect.adjusted(-pad, -pad, pad, pad), QColor(*LABEL_FILL))
    painter.setPen(QColor(COLOUR))
    painter.drawText(rect, Qt.AlignmentFlag.AlignLeft, text)
