"""The controls above the study tree that filter it: AI class, out-of-distribution flag, study dates."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLineEdit, QWidget

from cxrviewer.studies import OOD_ANY, OOD_HIDE, OOD_ONLY, ListFilter

from .ai_format import label_title

_OOD_CHOICES = (("Any image", OOD_ANY), ("Only unlike training data", OOD_ONLY),
                ("Hide unlike training data", OOD_HIDE))


def parse_date(text: str) -> str | None:
    """'2024-03-10', '2024/03/10' or '20240310' -> '20240310'; '' -> ''; anything else None."""
    digits = "".join(ch for ch in text if ch.isdigit())
    if not text.strip():
        return ""
    return digits if len(digits) == 8 else None


class StudyFilterBar(QWidget):
    changed = Signal(object)  # ListFilter

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.label_picker = QComboBox()
        self.label_picker.setToolTip("Show only the images the AI read as this class")
        self.ood_picker = QComboBox()
        self.ood_picker.setToolTip("Images flagged as unlike the model's training data")
        for text, value in _OOD_CHOICES:
            self.ood_picker.addItem(text, value)
        self.date_from, self.date_to = QLineEdit(), QLineEdit()
        for edit, text in ((self.date_from, "from YYYY-MM-DD"), (self.date_to, "to YYYY-MM-DD")):
            edit.setPlaceholderText(text)
            edit.setToolTip("Study date, inclusive; images without a study date are hidden while set")
            edit.setClearButtonEnabled(True)
            edit.editingFinished.connect(self._emit)
        self.label_picker.currentIndexChanged.connect(self._emit)
        self.ood_picker.currentIndexChanged.connect(self._emit)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        for widget in (self.label_picker, self.ood_picker, self.date_from, self.date_to):
            row.addWidget(widget, 1)
        self.set_labels(())

    def set_labels(self, labels: tuple[str, ...]) -> None:
        """One choice per class of the model in use (only 'any class' without a model)."""
        current = self.label_picker.currentData()
        self.label_picker.blockSignals(True)
        self.label_picker.clear()
        self.label_picker.addItem("Any class", None)
        for label in labels:
            self.label_picker.addItem(label_title(label), label)
        index = self.label_picker.findData(current) if current in labels else 0
        self.label_picker.setCurrentIndex(max(index, 0))
        self.label_picker.blockSignals(False)
        self._emit()

    def current(self) -> ListFilter:
        start, end = parse_date(self.date_from.text()), parse_date(self.date_to.text())
        for edit, value in ((self.date_from, start), (self.date_to, end)):
            edit.setStyleSheet("" if value is not None else "color: #ff8a80")  # unreadable: says so, ignored
        return ListFilter(self.label_picker.currentData(), self.ood_picker.currentData() or OOD_ANY,
                          start or "", end or "")

    def _emit(self, *_args) -> None:
        self.changed.emit(self.current())
