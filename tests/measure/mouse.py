"""Real mouse drags and clicks on the canvas, placed by image coordinates (for the measure tests)."""

from __future__ import annotations

import time

from PySide6.QtCore import QEvent, QPoint, QPointF, Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QApplication

LEFT = Qt.MouseButton.LeftButton


def widget_point(canvas, layer_item, x: float, y: float) -> QPoint:
    scene = layer_item.mapToScene(QPointF(x, y))
    return canvas.mapFromScene(scene)


def _send(canvas, kind, pos: QPoint, button, buttons) -> None:
    viewport = canvas.viewport()
    global_pos = QPointF(viewport.mapToGlobal(pos))
    event = QMouseEvent(kind, QPointF(pos), global_pos, button, buttons, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(viewport, event)


# pyqtgraph drops mouse moves closer together than 1/mouseRateLimit s (10 ms by default).
_MOVE_GAP_S = 0.012


def drag(canvas, layer_item, start, end, button=LEFT, steps: int = 6) -> None:
    a = widget_point(canvas, layer_item, *start)
    b = widget_point(canvas, layer_item, *end)
    _send(canvas, QEvent.Type.MouseButtonPress, a, button, button)
    for i in range(1, steps + 1):
        time.sleep(_MOVE_GAP_S)
        p = a + (b - a) * (i / steps)
        _send(canvas, QEvent.Type.MouseMove, QPoint(round(p.x()), round(p.y())), Qt.MouseButton.NoButton, button)
    _send(canvas, QEvent.Type.MouseButtonRelease, b, button, Qt.MouseButton.NoButton)


def click(canvas, layer_item, point, button=LEFT) -> None:
    p = widget_point(canvas, layer_item, *point)
    _send(canvas, QEvent.Type.MouseButtonPress, p, button, button)
    _send(canvas, QEvent.Type.MouseButtonRelease, p, button, Qt.MouseButton.NoButton)
