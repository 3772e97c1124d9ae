"""An annotation being drawn with the mouse: drags and clicks add its points.

Ruler, arrow, ellipse and rectangle are one drag. An angle is a drag along its first
arm to the vertex, then a click (or drag) where the second arm ends. A CTR is two
horizontal drags: the thoracic width, then the cardiac width. Text is a click. Points
are kept on the image, so a measurement cannot reach past its edge.
"""

from __future__ import annotations

from .annotation import ANGLE, CTR, POINTS, TEXT, Annotation, Point

_TINY = 1e-6  # a drag that did not move draws nothing


class Draft:
    def __init__(self, kind: str, width: int, height: int) -> None:
        self.kind = kind
        self._size = (float(width), float(height))
        self.points: list[Point] = []
        self._dragging = False

    @property
    def started(self) -> bool:
        return bool(self.points)

    def current(self) -> Annotation:
        return Annotation(self.kind, tuple(self.points))

    def _clamp(self, p: Point) -> Point:
        return min(max(p[0], 0.0), self._size[0]), min(max(p[1], 0.0), self._size[1])

    def _moving_end(self, p: Point) -> Point:
        p = self._clamp(p)
        if self.kind == CTR:  # each span is horizontal: its end stays on its start's row
            return p[0], self.points[-2][1]
        return p

    def press(self, p: Point) -> None:
        p = self._clamp(p)
        self._dragging = True
        if self.kind == ANGLE and len(self.points) == 2:
            self.points.append(p)  # the second arm, from the vertex to here
        else:
            self.points += [p, p]

    def move(self, p: Point) -> None:
        if self._dragging:
            self.points[-1] = self._moving_end(p)

    def release(self, p: Point) -> Annotation | None:
        """The finished annotation, or None while more steps are needed."""
        self.move(p)
        self._dragging = False
        if self.kind != ANGLE or len(self.points) != 3:
            start, end = self.points[-2], self.points[-1]
            if abs(end[0] - start[0]) < _TINY and abs(end[1] - start[1]) < _TINY:
                del self.points[-2:]  # a click with a drag tool: nothing drawn
                return None
        return self._finished()

    def click(self, p: Point) -> Annotation | None:
        p = self._clamp(p)
        if self.kind == TEXT:
            self.points = [p]
        elif self.kind == ANGLE and len(self.points) == 2:
            self.points.append(p)
        return self._finished()

    def _finished(self) -> Annotation | None:
        return self.current() if len(self.points) == POINTS[self.kind] else None
