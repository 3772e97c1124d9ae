"""Status bar: pixel under the cursor, window/level, zoom, the AI model and batch progress."""

from __future__ import annotations

from PySide6.QtCore import QTimer, Signal
from PySide6.QtWidgets import QLabel, QProgressBar, QStatusBar, QToolButton

from cxrviewer.imaging.window import SIGMOID
from cxrviewer.io import Window

_MODEL_TEXT_MAX = 60  # characters; the tooltip has the whole message
BATCH_NOTE_MS = 10_000
SKIPPED_IN_MESSAGE = 2  # entries named in the message itself; the tooltip lists them all
SKIPPED_MESSAGE_MS = 15_000


def format_value(value: float) -> str:
    return f"{value:.0f}" if float(value).is_integer() else f"{value:.2f}"


def format_level(value: float) -> str:
    """Window width/centre as readers expect: whole numbers, one decimal only when it matters."""
    rounded = round(float(value), 1)
    return f"{rounded:.0f}" if rounded.is_integer() or abs(rounded) >= 1000 else f"{rounded:.1f}"


def format_window(window: Window) -> str:
    return f"W {format_level(window.width)}  L {format_level(window.center)}"


def window_title(window: Window) -> str:
    """The window's name, with its VOI function when the grey scale is not a straight line
    (a sigmoid, or a VOI LUT, whose W/L is only the line over its rise)."""
    if window.lut is not None or window.function == SIGMOID:
        return f"{window.name}, {window.kind.replace('SIGMOID', 'sigmoid')}"
    return window.name


def _shorten(text: str) -> str:
    return text if len(text) <= _MODEL_TEXT_MAX else text[: _MODEL_TEXT_MAX - 1] + "…"


class ViewerStatusBar(QStatusBar):
    cancelBatchRequested = Signal()

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.pixel_label = QLabel()
        self.window_label = QLabel()
        self.zoom_label = QLabel()
        self.pixel_label.setMinimumWidth(200)
        self.window_label.setMinimumWidth(220)
        for label in (self.pixel_label, self.window_label, self.zoom_label):
            self.addPermanentWidget(label)
        self._build_ai_widgets()

    def _build_ai_widgets(self) -> None:
        self.batch_progress = QProgressBar()
        self.batch_progress.setMaximumWidth(220)
        self.batch_progress.setFormat("AI %v / %m")
        self.batch_cancel = QToolButton()
        self.batch_cancel.setText("Cancel")
        self.batch_cancel.setToolTip("Stop analysing the opened images (those done keep their results)")
        self.batch_cancel.clicked.connect(self.cancelBatchRequested)
        # Its own label, not showMessage(): a batch ending must not wipe a message the reader
        # needs, such as why a file could not be opened.
        self.batch_note = QLabel()
        self._note_timer = QTimer(self)
        self._note_timer.setSingleShot(True)
        self._note_timer.timeout.connect(self.batch_note.clear)
        self.model_state = QLabel()
        self.model_state.setObjectName("modelState")
        for widget in (self.batch_progress, self.batch_cancel, self.batch_note, self.model_state):
            self.addPermanentWidget(widget)
        self.hide_batch()

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
        self.window_label.setText(f"{format_window(window)}  ({window_title(window)})")

    def show_zoom(self, percent: float) -> None:
        self.zoom_label.setText(f"Zoom {percent:.0f}%")

    # ----- AI ---------------------------------------------------------------------------
    def show_model_state(self, text: str, detail: str = "", problem: bool = False) -> None:
        """e.g. 'AI: loading model…', 'AI: cxr3-default on CPU (x86_64, 2 threads)', 'AI: no model'."""
        self.model_state.setText(_shorten(text))
        self.model_state.setToolTip(detail or text)
        self.model_state.setProperty("problem", problem)
        self.model_state.style().unpolish(self.model_state)
        self.model_state.style().polish(self.model_state)

    def show_batch(self, done: int, total: int) -> None:
        self.batch_note.clear()
        self.batch_progress.setRange(0, max(total, 1))
        self.batch_progress.setValue(done)
        self.batch_progress.show()
        self.batch_cancel.show()

    def hide_batch(self) -> None:
        self.batch_progress.hide()
        self.batch_cancel.hide()

    def show_batch_note(self, text: str) -> None:
        """How the last batch ended, for a few seconds."""
        self.batch_note.setText(text)
        self._note_timer.start(BATCH_NOTE_MS)

    def show_skipped(self, folder: str, skipped: tuple[tuple[str, str], ...], found: int) -> None:
        """Say which folder entries were left out and why, short enough for the bar (all of them,
        with the full reasons, in the tooltip)."""
        named = ", ".join(f"{name} ({why.split(' (')[0]})" for name, why in skipped[:SKIPPED_IN_MESSAGE])
        more = f" and {len(skipped) - SKIPPED_IN_MESSAGE} more" if len(skipped) > SKIPPED_IN_MESSAGE else ""
        self.showMessage(f"Left out of {folder}: {named}{more}", SKIPPED_MESSAGE_MS)
        self.setToolTip(f"{found} image(s) found in {folder}; left out:\n"
                        + "\n".join(f"{name}: {why}" for name, why in skipped))
