"""The image list grouped as a study browser: patient -> study -> series -> image.

Columns: the row's name, study date, the AI flag, description and accession number.
Clicking a header sorts every level by that column (the AI column puts abnormal readings
first); ``set_filter`` hides images that do not match and groups left empty. The tree is a
view: ImageList keeps the rows, their order and the readings; this widget mirrors them.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTreeWidget, QTreeWidgetItem

from cxrviewer.studies import ListFilter, PatientGroup, StudyIndex, group_images

from . import study_text
from .image_list import ImageList

# Date and the AI flag first after the name: what a narrow dock must still show.
NAME, DATE, AI, DESCRIPTION, ACCESSION = range(5)
HEADERS = ("Patient / image", "Date", "AI", "Description", "Accession")
_NAME_WIDTH = 170  # the tooltip has the full path
_INDENT = 10
_PATH_ROLE = Qt.ItemDataRole.UserRole
_SORT_ROLE = Qt.ItemDataRole.UserRole + 1  # {column: key} for _Row.__lt__
_KEY_ROLE = Qt.ItemDataRole.UserRole + 2  # a group's identity, to keep it collapsed across rebuilds
_OOD_COLOUR = QColor("#ffb74d")
_FAILED_COLOUR = QColor("#ff8a80")


class _Row(QTreeWidgetItem):
    def __lt__(self, other: QTreeWidgetItem) -> bool:
        column = self.treeWidget().sortColumn() if self.treeWidget() else NAME
        mine, theirs = self.data(0, _SORT_ROLE) or {}, other.data(0, _SORT_ROLE) or {}
        return mine.get(column, ()) < theirs.get(column, ())


class StudyTree(QTreeWidget):
    """``pathChosen`` fires when the reader picks an image row."""

    pathChosen = Signal(object)  # Path

    def __init__(self, image_list: ImageList, index: StudyIndex, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("studyTree")
        self._list, self._index = image_list, index
        self._filter = ListFilter()
        self._images: dict[Path, QTreeWidgetItem] = {}
        self._collapsed: set[str] = set()
        self.setColumnCount(len(HEADERS))
        self.setHeaderLabels(HEADERS)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setUniformRowHeights(True)
        self.setAcceptDrops(False)  # drops are handled by the main window
        self.viewport().setAcceptDrops(False)
        self.setSortingEnabled(True)
        self.sortByColumn(DATE, Qt.SortOrder.DescendingOrder)  # newest first, as a reading room lists
        self.setIndentation(_INDENT)
        header = self.header()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(NAME, QHeaderView.ResizeMode.Interactive)
        header.resizeSection(NAME, _NAME_WIDTH)
        header.setStretchLastSection(False)
        self.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        self.currentItemChanged.connect(self._on_current_changed)
        self.itemCollapsed.connect(lambda item: self._collapsed.add(item.data(0, _KEY_ROLE)))
        self.itemExpanded.connect(lambda item: self._collapsed.discard(item.data(0, _KEY_ROLE)))

    # ----- building ------------------------------------------------------------------------
    def rebuild(self) -> None:
        """Regroup every listed file (after files were added, read or removed)."""
        current = self._list.current_path()
        # A file joins once the loader has read its header (or failed to): no DICOM passes through "files".
        listed = [p for p in self._list.paths() if self._index.known(p) or self._list.error_for(p) is not None]
        order = {path: n for n, path in enumerate(listed)}
        entries = sorted(((p, self._index.identity(p)) for p in listed), key=lambda e: order[e[0]])
        self.setUpdatesEnabled(False)
        self.blockSignals(True)
        try:
            self.clear()
            self._images.clear()
            self.setSortingEnabled(False)
            for patient in group_images(entries):
                self._add_patient(patient, order)
            self.setSortingEnabled(True)
            self._apply_filter()
            self._restore_expansion()
            self.select_path(current)
        finally:
            self.blockSignals(False)
            self.setUpdatesEnabled(True)

    def _add_patient(self, patient: PatientGroup, order: dict[Path, int]) -> None:
        top = self._group_row(None, f"patient:{patient.key}", study_text.patient_title(patient),
                              study_text.latest_date(patient), "", "", order=len(self._images))
        for study in patient.studies:
            study_row = self._group_row(top, f"study:{study.uid}", "Study" if study.uid else "Files", study.date,
                                        study.description, study.accession, order=len(self._images))
            for series in study.series:
                parent = study_row
                if study.uid:  # DICOM: patient -> study -> series -> image
                    parent = self._group_row(study_row, f"series:{study.uid}:{series.uid}",
                                             study_text.series_title(series), "", series.description, "",
                                             order=len(self._images))
                for path in series.paths:
                    self._image_row(parent, path, study.date, order[path])
        self._refresh_flags(top)

    def _group_row(self, parent, key: str, name: str, date: str, description: str, accession: str,
                   order: int) -> QTreeWidgetItem:
        row = _Row(parent if parent is not None else self)
        row.setText(NAME, name)
        row.setToolTip(NAME, name)
        row.setText(DATE, study_text.date_text(date))
        row.setText(DESCRIPTION, description)
        row.setText(ACCESSION, accession)
        row.setData(0, _KEY_ROLE, key)
        row.setData(0, _SORT_ROLE, {NAME: (name.lower(),), DATE: (date, -order), DESCRIPTION: (description,),
                                    ACCESSION: (accession,), AI: (3, 0.0)})
        row.setFirstColumnSpanned(False)
        return row

    def _image_row(self, parent: QTreeWidgetItem, path: Path, date: str, order: int) -> None:
        row = _Row(parent)
        row.setText(NAME, path.name)
        row.setToolTip(NAME, str(path))
        row.setData(0, _PATH_ROLE, path)
        row.setData(0, _SORT_ROLE, {NAME: (path.name.lower(),), DATE: (date, -order), DESCRIPTION: (order,),
                                    ACCESSION: (order,), AI: (3, 0.0, order)})
        self._images[path] = row
        self._show_reading(row, path)

    # ----- readings --------------------------------------------------------------------------
    def update_reading(self, path: Path) -> None:
        """One image's AI reading (or failure) changed: its row and its groups' flags."""
        row = self._images.get(path)
        if row is None:
            return
        self._show_reading(row, path)
        top = row
        while top.parent() is not None:
            top = top.parent()
        self._refresh_flags(top)
        if self._filter.active:
            self._apply_filter()

    def _show_reading(self, row: QTreeWidgetItem, path: Path) -> None:
        error = self._list.error_for(path)
        result = self._list.result_for(path)
        row.setText(NAME, f"⚠ {path.name}" if error else path.name)
        row.setText(AI, "cannot open" if error else study_text.image_flag(result))
        colour = _FAILED_COLOUR if error else _OOD_COLOUR if result is not None and result.ood_flag else None
        for column in range(len(HEADERS)):
            row.setForeground(column, QBrush(colour) if colour else QBrush())
        keys = dict(row.data(0, _SORT_ROLE))
        keys[AI] = (*study_text.flag_rank(result), keys[DESCRIPTION][0])
        row.setData(0, _SORT_ROLE, keys)

    def _refresh_flags(self, group: QTreeWidgetItem) -> list:
        """Set each group's AI column from its images, bottom up; returns the group's results."""
        results = []
        for n in range(group.childCount()):
            child = group.child(n)
            path = child.data(0, _PATH_ROLE)
            results += [self._list.result_for(path)] if path is not None else self._refresh_flags(child)
        if group.data(0, _PATH_ROLE) is None:
            group.setText(AI, study_text.group_flag(results))
            keys = dict(group.data(0, _SORT_ROLE))
            keys[AI] = min((study_text.flag_rank(r) for r in results), default=(3, 0.0))
            group.setData(0, _SORT_ROLE, keys)
        return results

    # ----- filter and selection -----------------------------------------------------------------
    def set_filter(self, list_filter: ListFilter) -> None:
        self._filter = list_filter
        self._apply_filter()

    def _apply_filter(self) -> None:
        for n in range(self.topLevelItemCount()):
            self._filter_group(self.topLevelItem(n))

    def _filter_group(self, group: QTreeWidgetItem) -> bool:
        """Hide what does not match; True when anything in ``group`` is still shown."""
        path = group.data(0, _PATH_ROLE)
        if path is not None:
            result = self._list.result_for(path)
            reading = (result.label, bool(result.ood_flag)) if result is not None else None
            shown = self._filter.matches(self._index.identity(path), reading)
        else:
            shown = any([self._filter_group(group.child(n)) for n in range(group.childCount())])
        group.setHidden(not shown)
        return shown

    def visible_paths(self) -> list[Path]:
        """The image rows shown (not filtered out), top to bottom."""
        return [p for p, row in self._tree_order() if not row.isHidden() and not _hidden_above(row)]

    def _tree_order(self):
        stack = [self.topLevelItem(n) for n in reversed(range(self.topLevelItemCount()))]
        while stack:
            row = stack.pop()
            path = row.data(0, _PATH_ROLE)
            if path is not None:
                yield path, row
            stack.extend(row.child(n) for n in reversed(range(row.childCount())))

    def select_path(self, path: Path | None) -> None:
        row = self._images.get(path) if path is not None else None
        if row is not None and row is not self.currentItem():
            blocked = self.blockSignals(True)
            self.setCurrentItem(row)
            self.blockSignals(blocked)
            self.scrollToItem(row)

    def _restore_expansion(self) -> None:
        self.expandAll()
        for path, row in self._tree_order():
            del path
            parent = row.parent()
            while parent is not None:
                if parent.data(0, _KEY_ROLE) in self._collapsed:
                    parent.setExpanded(False)
                parent = parent.parent()

    def _on_current_changed(self, current: QTreeWidgetItem | None, _previous) -> None:
        path = current.data(0, _PATH_ROLE) if current is not None else None
        if path is not None:
            self.pathChosen.emit(Path(path))


def _hidden_above(row: QTreeWidgetItem) -> bool:
    parent = row.parent()
    while parent is not None:
        if parent.isHidden():
            return True
        parent = parent.parent()
    return False
