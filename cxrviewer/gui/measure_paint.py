"""Measurements burned into an exported view, drawn as on screen: outlines in image
coordinates through the same rotate/flip, labels upright beside them."""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QImage, QPainter, QPen

from cxrviewer.measure.annotation import ANGLE, CTR, ELLIPSE, RECTANGLE, TEXT, Annotation

from .measure_item import COLOUR, LABEL_FILL, shape_path
from .orientation import Orientation


def _label_point(a: Annotation) -> QPointF:
    pts = [QPointF(*p) for p in a.points]
    if a.kind in (ELLIPSE, RECTANGLE, CTR):
        return QPointF(max(p.x() for p in pts[:2]), min(p.y() for p in pts[:2]))
    if a.kind == ANGLE:
        return pts[1]
    return max(pts, key=lambda p: p.x())


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
            _draw_label(painter, to_view.map(_label_point(annotation)), text, annotation.kind == TEXT, scale)
    painter.end()


def _draw_label(painter: QPainter, at: QPointF, text: str, centred: bool, scale: float) -> None:
    bounds = painter.boundingRect(QRectF(0, 0, 4000, 4000), Qt.AlignmentFlag.AlignLeft, text)
    pad = 3 * scale
    top = at.y() - bounds.height() / 2 if centred else at.y() - bounds.height() - pad
    rect = QRectF(at.x() + 2 * pad, top, bounds.width(), bounds.height())
    painter.fillRect(rect.adjusted(-pad, -pad, pad, pad), QColor(*LABEL_FILL))
    painter.setPen(QColor(COLOUR))
    painter.drawText(rect, Qt.AlignmentFlag.AlignLeft, text)
