"""Corner text over the canvas: patient/study basics top, display state bottom.

Rendered as QLabels on the view widget rather than scene items, so the text
stays put and crisp while the image is panned, zoomed and rotated. Each corner owns
a quarter of the canvas less a middle strip kept for the orientation letters: a line
too long for it is elided and lines that do not fit below are dropped from the end, so
the four never overlap, even in a small window (``text`` still gives every line).
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, QRect, Qt
from PySide6.QtWidgets import QLabel, QWidget

from cxrviewer.io import LoadedImage, Window, display_basics

from .orientation import Orientation
from .status_bar import format_window, window_title

_MARGIN = 10
CORNER_LABEL_NAME = "cornerOverlay"  # object name of the four labels (style sheet; captions keep clear of them)
MIDDLE_GAP = 44  # px kept free between the corners, across and down, for the orientation letters
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


def display_lines(window: Window | None, zoom: float | None) -> list[str]:
    """W/L, the window's name and the zoom (None: no zoom line, as on a full-size export)."""
    wl = format_window(window) if window else ""
    zoom_line = f"Zoom {zoom:.0f}%" if zoom is not None else ""
    return [line for line in (wl, window_title(window) if window else "", zoom_line) if line]


def geometry_lines(image: LoadedImage, orientation: Orientation, inverted: bool) -> list[str]:
    lines = [f"{image.width} × {image.height}  {image.photometric} {image.bits}-bit"]
    if image.frames > 1:
        lines.append(f"frame {image.frame_index + 1} of {image.frames}")
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
        self._lines: dict[str, list[str]] = {name: [] for name in corners}
        self._visible = True
        host.installEventFilter(self)

    def _make_label(self, align: Qt.AlignmentFlag) -> QLabel:
        label = QLabel(self._host)
        label.setObjectName(CORNER_LABEL_NAME)
        label.setAlignment(align)
        label.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        label.setTextFormat(Qt.TextFormat.PlainText)  # tag values must never be read as markup
        return label

    def set_text(self, corner: str, lines: list[str]) -> None:
        self._lines[corner] = list(lines)
        self._layout(corner)

    def _layout(self, corner: str) -> None:
        label = self.labels[corner]
        room = self.room()
        shown = _fitted(label, self._lines[corner], room.width(), room.height())
        label.setText("\n".join(shown))
        label.adjustSize()
        if label.width() > room.width():  # the padding: the text itself is elided to fit
            label.resize(room.width(), label.height())
        label.setVisible(self._visible and bool(shown))
        self._place(corner)

    def room(self) -> QRect:
        """The size each corner may take (a quarter of the host less margins and the middle strip)."""
        w, h = self._host.width(), self._host.height()
        return QRect(0, 0, max(1, (w - 2 * _MARGIN - MIDDLE_GAP) // 2), max(1, (h - 2 * _MARGIN - MIDDLE_GAP) // 2))

    def clear(self) -> None:
        for corner in self.labels:
            self.set_text(corner, [])

    def text(self, corner: str) -> str:
        """Every line given for the corner, also those the canvas has no room to show."""
        return "\n".join(self._lines[corner])

    def shown_text(self, corner: str) -> str:
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
                self._layout(corner)
        return False


def _fitted(label: QLabel, lines: list[str], width: int, height: int) -> list[str]:
    """The lines, each elided to ``width`` px, as many from the top as fit in ``height`` px."""
    metrics = label.fontMetrics()
    pad_w, pad_h = _padding(label)
    text_width = max(8, width - pad_w)
    shown = [metrics.elidedText(line, Qt.TextElideMode.ElideRight, text_width) for line in lines]
    while shown and len(shown) * metrics.lineSpacing() + pad_h > height:
        shown.pop()
    return shown


def _padding(label: QLabel) -> tuple[int, int]:
    """What the label adds around its text (style sheet padding, margins)."""
    probe = label.fontMetrics()
    label_text = label.text()
    label.setText("x")
    hint = label.sizeHint()
    label.setText(label_text)
    return hint.width() - probe.horizontalAdvance("x"), hint.height() - probe.height()
