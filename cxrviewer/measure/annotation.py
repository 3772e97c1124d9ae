"""One measurement or annotation as plain data: its kind, its points in image coordinates, its text.

Image coordinates: x along columns, y along rows, pixel (row r, column c) covering
[c, c+1) x [r, r+1), as the canvas's ImageItem draws it. Rotation and flips are the
display's business, so a saved annotation never depends on them.
"""

from __future__ import annotations

from dataclasses import dataclass

RULER = "ruler"
ANGLE = "angle"
ELLIPSE = "ellipse"
RECTANGLE = "rectangle"
CTR = "ctr"  # thoracic span (points 0-1), then cardiac span (points 2-3), each horizontal
ARROW = "arrow"  # tail, then tip
TEXT = "text"

# How many points each kind is made of.
POINTS = {RULER: 2, ANGLE: 3, ELLIPSE: 2, RECTANGLE: 2, CTR: 4, ARROW: 2, TEXT: 1}
ROI_KINDS = (ELLIPSE, RECTANGLE)

Point = tuple[float, float]


@dataclass(frozen=True)
class Annotation:
    kind: str
    points: tuple[Point, ...]
    text: str = ""

    def __post_init__(self) -> None:
        if self.kind not in POINTS:
            raise ValueError(f"unknown annotation kind {self.kind!r}")
        points = tuple((float(x), float(y)) for x, y in self.points)
        object.__setattr__(self, "points", points)

    @property
    def complete(self) -> bool:
        return len(self.points) == POINTS[self.kind]

    def to_dict(self) -> dict:
        out = {"kind": self.kind, "points": [list(p) for p in self.points]}
        if self.text:
            out["text"] = self.text
        return out

    @classmethod
    def from_dict(cls, data: dict) -> Annotation:
        annotation = cls(str(data["kind"]), tuple(tuple(p) for p in data["points"]), str(data.get("text", "")))
        if not annotation.complete:
            raise ValueError(f"{annotation.kind} needs {POINTS[annotation.kind]} points")
        return annotation
