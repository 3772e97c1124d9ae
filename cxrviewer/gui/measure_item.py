"""One measurement on the canvas: a pyqtgraph ROI with a handle on each of its points.

The item lives in image coordinates (a child of the canvas's measurement layer, which
shares the image's rotate/flip transform), so it follows zoom, pan and orientation.
Its outline is what the mouse grabs, so a new measurement can be drawn inside an ROI;
its handles show while it is selected. The label is a TextItem, upright and at screen
size whatever the zoom, placed beside the shape (cxrviewer.measure.placement) rather than
over what it measures.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QPainterPath, QPainterPathStroker, QPolygonF

from cxrviewer.measure.annotation import ARROW, CTR, ELLIPSE, RECTANGLE, RULER, TEXT, Annotation
from cxrviewer.measure.geometry import box
from cxrviewer.measure.placement import place

COLOUR = "#ffd400"  # yellow: readable on black and white film alike
SELECTED_COLOUR = "#33ddff"
LABEL_FILL = (0, 0, 0, 170)
LABEL_PIXELS = 13
_GRAB_PIXELS = 8  # how far from a line the mouse still takes it
ARROW_HEAD_PIXELS = 14


def _pen(colour: str, width: float) -> object:
    return pg.mkPen(colour, width=width, cosmetic=True)


def shape_path(kind: str, pts: list[QPointF], head: float) -> QPainterPath:
    """The drawn outline in item coordinates; ``head``: the arrow head's length there."""
    path = QPainterPath()
    if kind in (ELLIPSE, RECTANGLE) and len(pts) == 2:
        left, top, width, height = box((pts[0].x(), pts[0].y()), (pts[1].x(), pts[1].y()))
        rect = QRectF(left, top, width, height)
        path.addEllipse(rect) if kind == ELLIPSE else path.addRect(rect)
        return path
    if kind in (CTR, RULER):  # spans, with end ticks so their ends can be seen on bone and soft tissue
        for i in range(0, len(pts) - 1, 2):
            path.moveTo(pts[i])
            path.lineTo(pts[i + 1])
            _add_ticks(path, pts[i], pts[i + 1], head / 2)
        return path
    if kind == TEXT or not pts:
        return path
    path.addPolygon(QPolygonF(pts))
    if kind == ARROW and len(pts) == 2:
        path.addPolygon(_arrow_head(pts[0], pts[1], head))
    return path


def _add_ticks(path: QPainterPath, a: QPointF, b: QPointF, half: float) -> None:
    length = math.hypot(b.x() - a.x(), b.y() - a.y())
    if length == 0:
        return
    nx, ny = -(b.y() - a.y()) / length * half, (b.x() - a.x()) / length * half
    for end in (a, b):
        path.moveTo(end.x() - nx, end.y() - ny)
        path.lineTo(end.x() + nx, end.y() + ny)


def _arrow_head(tail: QPointF, tip: QPointF, head: float) -> QPolygonF:
    angle = math.atan2(tip.y() - tail.y(), tip.x() - tail.x())
    wings = [QPointF(tip.x() - head * math.cos(angle + s), tip.y() - head * math.sin(angle + s))
             for s in (0.45, -0.45)]
    return QPolygonF([wings[0], tip, wings[1]])


class MeasureItem(pg.ROI):
    def __init__(self, annotation: Annotation, describe: Callable[[Annotation], str],
                 image_width: int, interactive: bool = True) -> None:
        super().__init__((0, 0), (1, 1), movable=interactive, rotatable=False, resizable=False,
                         pen=_pen(COLOUR, 1.6), hoverPen=_pen(COLOUR, 2.6), handlePen=_pen(COLOUR, 1.5),
                         handleHoverPen=_pen(SELECTED_COLOUR, 2))
        self.kind, self.text = annotation.kind, annotation.text
        self._describe = describe
        self._image_width = image_width  # labels go to the side away from the midline
        self.selected = False
        for point in annotation.points:
            self.addFreeHandle(point)
        self.label = pg.TextItem(color=COLOUR, fill=pg.mkBrush(*LABEL_FILL))
        font = self.label.textItem.font()
        font.setPixelSize(LABEL_PIXELS)
        self.label.setFont(font)
        self.label.setParentItem(self)
        if interactive:
            self.setAcceptedMouseButtons(Qt.MouseButton.LeftButton)
        else:
            for handle in self.getHandles():
                handle.setAcceptedMouseButtons(Qt.MouseButton.NoButton)
        self.set_selected(False)
        self.sigRegionChanged.connect(self.relabel)
        self.relabel()

    # ----- the data -------------------------------------------------------------
    def points(self) -> list[QPointF]:
        return [h.pos() for h in self.getHandles()]

    def annotation(self) -> Annotation:
        """Where the item is now, in image coordinates."""
        pts = [self.mapToParent(p) for p in self.points()]
        return Annotation(self.kind, tuple((p.x(), p.y()) for p in pts), self.text)

    def movePoint(self, handle, pos, modifiers=None, finish=True, coords="parent"):  # noqa: N802 (pyqtgraph API)
        super().movePoint(handle, pos, modifiers, finish=finish, coords=coords)
        if self.kind == CTR:  # a span stays horizontal: its other end follows onto this row
            self._level_partner(handle)

    def _level_partner(self, handle) -> None:
        handles = self.getHandles()
        index = handles.index(handle) if handle in handles else self.indexOfHandle(handle)
        partner = index ^ 1
        if partner < len(handles):
            moved, other = handles[index].pos(), handles[partner].pos()
            level = QPointF(other.x(), moved.y())
            handles[partner].setPos(level)
            self.handles[partner]["pos"] = level

    # ----- look -------------------------------------------------------------------
    def set_selected(self, selected: bool) -> None:
        self.selected = selected
        colour = SELECTED_COLOUR if selected else COLOUR
        self.setPen(_pen(colour, 2.2 if selected else 1.6))
        self.label.setColor(colour)
        for handle in self.getHandles():
            handle.setVisible(selected)
        self.update()

    def relabel(self, *_args) -> None:
        annotation = self.annotation()
        text = self._describe(annotation)
        self.label.setText(text)
        self.label.setVisible(bool(text))
        if annotation.complete:
            where = place(annotation, self._image_width)
            self.label.setAnchor(where.anchor)
            self.label.setPos(self.mapFromParent(QPointF(where.x, where.y)))
        self.prepareGeometryChange()

    def _head_length(self) -> float:
        pixel = self.pixelLength(pg.Point(1, 0)) if self.scene() is not None else None
        return ARROW_HEAD_PIXELS * (pixel if pixel and math.isfinite(pixel) else 1.0)

    def paint(self, painter, *_args) -> None:
        painter.setRenderHint(painter.RenderHint.Antialiasing, True)
        painter.setPen(self.currentPen)
        painter.drawPath(shape_path(self.kind, self.points(), self._head_length()))

    def shape(self) -> QPainterPath:
        stroker = QPainterPathStroker()
        pixel = self.pixelLength(pg.Point(1, 0)) if self.scene() is not None else None
        stroker.setWidth(_GRAB_PIXELS * (pixel if pixel and math.isfinite(pixel) else 1.0))
        path = stroker.createStroke(shape_path(self.kind, self.points(), self._head_length()))
        if self.label.isVisible():  # the label is a handle too: click it to select, drag it to move
            path.addPolygon(self.mapFromItem(self.label, self.label.boundingRect()))
        return path

    def boundingRect(self) -> QRectF:  # noqa: N802 (Qt API)
        return self.shape().boundingRect()

    def viewTransformChanged(self) -> None:  # noqa: N802 (pyqtgraph API)
        self.prepareGeometryChange()  # the grab width and the arrow head are in screen pixels
        super().viewTransformChanged()
