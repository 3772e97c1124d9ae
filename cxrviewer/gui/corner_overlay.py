"""Corner text over the canvas: patient/study basics top, display state bottom.

Rendered as QLabels on the view widget rather than scene items, so the text
stays put and crisp while the image is panned, zoomed and rotated.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtWidgets import QLabel, QWidget

from cxrviewer.io import LoadedImage, Window, display_basics

from .orientation import Orientation
from .status_bar import format_window, window_title

_MARGIN = 10
_PATIENT_AGE = "(0010,1010) PatientAge"  # not (yet) among cxrviewer.io.display_basics fields


def patient_lines(image: LoadedImage) -> list[str]:
    basics = display_basics(image)
    birth = f"DOB {basics['patient_birth_date']}" if basics["patient_birth_date"] else ""
    age = image.metadata.get(_PATIENT_AGE, "").strip()
    lines = [
        basics["patient_name"],
        f"ID {basics['patient_id']}" if basics["patient_id"] else "",
        " ".join(v for v in (basics["patient_sex"], age, birth) if v),
    ]
    return [line for line in lines if line] or [image.path.name]


def study_lines(image: LoadedImage) -> list[str]:
    basics = display_basics(image)
    when = " ".join(v for v in (basics["study_date"], basics["study_time"]) if v)
    series = basics["series_description"]
    if basics["series_number"]:
        series = f"Se {basics['series_number']}  {series}".strip()
    acquisition = " ".join(v for v in (basics["modality"], basics["body_part"], basics["view_position"],
                                       basics["laterality"]) if v)
    lines = [basics["institution"], basics["study_description"], when, series, acquisition]
    return [line for line in lines if line]


def display_lines(window: Window | None, zoom: float) -> list[str]:
    wl = format_window(window) if window else ""
    return [line for line in (wl, window_title(window) if window else "", f"Zoom {zoom:.0f}%") if line]


def geometry_lines(image: LoadedImage, orientation: Orientation, inverted: bool) -> list[str]:
    lines = [f"{image.width} × {image.height}  {image.photometric} {image.bits}-bit"]
    if image.frames > 1:  # only the first frame is shown; say so rather than hide it
        lines.append(f"frame 1 of {image.frames}")
    if not orientation.is_identity:
        lines.append(orientation.describe())
    if inverted:
        lines.append("inverted")
    return lines


class CornerOverlay(QObject):
    """Four corner labels on a canvas widget; kept in place through resizes."""

    def __init__(self, host: QWidget) -> None:
        super().__init__(host)
        self._host = host
        corners = {
            "top_left": Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop,
            "top_right": Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignTop,
            "bottom_left": Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignBottom,
            "bottom_right": Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignBottom,
        }
        self.labels = {name: self._make_label(align) for name, align in corners.items()}
        self._visible = True
        host.installEventFilter(self)

    def _make_label(self, align: Qt.AlignmentFlag) -> QLabel:
        label = QLabel(self._host)
        label.setObjectName("cornerOverlay")
        label.setAlignment(align)
        label.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        label.setTextFormat(Qt.TextFormat.PlainText)  # tag values must never be read as markup
        return label

    def set_text(self, corner: str, lines: list[str]) -> None:
        label = self.labels[corner]
        label.setText("\n".join(lines))
        label.adjustSize()
        label.setVisible(self._visible and bool(lines))
        self._place(corner)

    def clear(self) -> None:
        for corner in self.labels:
            self.set_text(corner, [])

    def text(self, corner: str) -> str:
        return self.labels[corner].text()

    @property
    def visible(self) -> bool:
        return self._visible

    def set_visible(self, visible: bool) -> None:
        self._visible = visible
        for label in self.labels.values():
            label.setVisible(visible and bool(label.text()))

    def _place(self, corner: str) -> None:
        label = self.labels[corner]
        w, h = self._host.width(), self._host.height()
        x = _MARGIN if corner.endswith("left") else w - label.width() - _MARGIN
        y = _MARGIN if corner.startswith("top") else h - label.height() - _MARGIN
        label.move(x, y)

    def eventFilter(self, obj, event):  # noqa: N802 (Qt API)
        if obj is self._host and event.type() == QEvent.Type.Resize:
            for corner in self.labels:
                self._place(corner)
        return False
