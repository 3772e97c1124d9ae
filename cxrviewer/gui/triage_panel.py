"""The image list with a triage sort control above it ("highest COVID-19 first", ...)."""

from __future__ import annotations

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from .ai_format import label_title
from .image_list import ImageList

_AS_OPENED = None
# Re-sorting on every arriving result would make rows jump under the reader's mouse;
# sort at most this often while a batch is running.
RESORT_DELAY_MS = 700


class ImageListPanel(QWidget):
    def __init__(self, image_list: ImageList, parent=None) -> None:
        super().__init__(parent)
        self.image_list = image_list
        self.sort_picker = QComboBox()
        self.sort_picker.setToolTip("Order the list as a worklist by the AI's probability of a class "
                                    "(images flagged as unlike the training data come after)")
        self.sort_picker.currentIndexChanged.connect(self._on_sort_chosen)
        self._resort_timer = QTimer(self)
        self._resort_timer.setSingleShot(True)
        self._resort_timer.setInterval(RESORT_DELAY_MS)
        self._resort_timer.timeout.connect(self.image_list.resort)
        row = QHBoxLayout()
        row.addWidget(QLabel("Sort"))
        row.addWidget(self.sort_picker, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(row)
        layout.addWidget(image_list, 1)
        self.set_labels(())

    def set_labels(self, labels: tuple[str, ...]) -> None:
        """Offer one 'highest first' order per class of the model in use (none without a model)."""
        current = self.sort_picker.currentData()
        self.sort_picker.blockSignals(True)
        self.sort_picker.clear()
        self.sort_picker.addItem("As opened", _AS_OPENED)
        # The disease classes first: those are what a worklist is sorted by.
        ordered = sorted(labels, key=lambda label: label.lower() == "normal")
        for label in ordered:
            self.sort_picker.addItem(f"Highest {label_title(label)} first", label)
        index = self.sort_picker.findData(current) if current in labels else 0
        self.sort_picker.setCurrentIndex(max(index, 0))
        self.sort_picker.setEnabled(bool(labels))
        self.sort_picker.blockSignals(False)
        self._on_sort_chosen()

    def sort_by(self, label: str | None) -> None:
        index = 0 if label is None else self.sort_picker.findData(label)
        if index < 0:
            raise ValueError(f"no sort order for {label!r}")
        self.sort_picker.setCurrentIndex(index)

    def schedule_resort(self) -> None:
        if self.image_list.sort_label is not None and not self._resort_timer.isActive():
            self._resort_timer.start()

    def _on_sort_chosen(self, *_args) -> None:
        self._resort_timer.stop()
        self.image_list.set_sort(self.sort_picker.currentData())
