"""The image list in two views: "Studies" (patient -> study -> series, filterable) and
"Worklist" (flat, with a triage sort control: "highest COVID-19 first", ...)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QTimer, Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QStackedWidget, QTabBar, QVBoxLayout, QWidget

from cxrviewer.io.dicom_identity import ImageIdentity
from cxrviewer.studies import StudyIndex

from .ai_format import label_title
from .image_list import ImageList
from .study_filter_bar import StudyFilterBar
from .study_tree import StudyTree

_AS_OPENED = None
# Re-sorting on every arriving result would make rows jump under the reader's mouse;
# sort at most this often while a batch is running.
RESORT_DELAY_MS = 700
# Files arrive one by one as a folder is read: regroup the tree at most this often.
REGROUP_DELAY_MS = 250
STUDIES, WORKLIST = 0, 1


class ImageListPanel(QWidget):
    regrouped = Signal()  # the study tree was rebuilt from what the loader has read (priors may be new)

    def __init__(self, image_list: ImageList, parent=None) -> None:
        super().__init__(parent)
        self.image_list = image_list
        self.study_index = StudyIndex()
        self.study_tree = StudyTree(image_list, self.study_index)
        self.filter_bar = StudyFilterBar()
        self._regroup_timer = QTimer(self)
        self._regroup_timer.setSingleShot(True)
        self._regroup_timer.setInterval(REGROUP_DELAY_MS)
        self._regroup_timer.timeout.connect(self.regroup_now)
        self.sort_picker = QComboBox()
        self.sort_picker.setToolTip("Order the list as a worklist by the AI's probability of a class "
                                    "(images flagged as unlike the training data come after)")
        self.sort_picker.currentIndexChanged.connect(self._on_sort_chosen)
        self._resort_timer = QTimer(self)
        self._resort_timer.setSingleShot(True)
        self._resort_timer.setInterval(RESORT_DELAY_MS)
        self._resort_timer.timeout.connect(self.image_list.resort)
        self.views = QTabBar()
        self.views.addTab("Studies")
        self.views.addTab("Worklist")
        self.views.setToolTip("Studies: grouped by patient, study and series. Worklist: one flat list, "
                              "sortable by the AI's probability of a class")
        self.pages = QStackedWidget()
        self.pages.addWidget(self._page(self.filter_bar, self.study_tree))
        sort_row = QWidget()
        row = QHBoxLayout(sort_row)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(QLabel("Sort"))
        row.addWidget(self.sort_picker, 1)
        self.pages.addWidget(self._page(sort_row, image_list))
        self.views.currentChanged.connect(self.pages.setCurrentIndex)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.views)
        layout.addWidget(self.pages, 1)
        self._connect_tree()
        self.set_labels(())

    @staticmethod
    def _page(controls: QWidget, view: QWidget) -> QWidget:
        page = QWidget()
        layout = QVBoxLayout(page)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(controls)
        layout.addWidget(view, 1)
        return page

    def _connect_tree(self) -> None:
        self.image_list.rowsChanged.connect(self._on_rows_changed)
        self.image_list.readingChanged.connect(self.study_tree.update_reading)
        self.image_list.currentPathChanged.connect(self.study_tree.select_path)
        self.study_tree.pathChosen.connect(self.image_list.select_path)
        self.filter_bar.changed.connect(self.study_tree.set_filter)

    def show_view(self, index: int) -> None:
        """STUDIES or WORKLIST."""
        self.views.setCurrentIndex(index)

    def note_identity(self, path: Path, identity: ImageIdentity | None) -> None:
        """What the loader read of a listed file's patient, study and series."""
        if self.study_index.add(path, identity):
            self._regroup_timer.start()

    def regroup_now(self) -> None:
        self._regroup_timer.stop()
        self.study_tree.rebuild()
        self.regrouped.emit()

    def _on_rows_changed(self) -> None:
        if self.image_list.count() == 0:
            self.study_index.clear()
            self.regroup_now()  # Close all: nothing stale stays on screen
        else:
            self._regroup_timer.start()

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
        self.filter_bar.set_labels(tuple(labels))

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
