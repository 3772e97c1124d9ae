"""A searchable table of the DICOM header: tag, keyword, value."""

from __future__ import annotations

import re
from collections.abc import Mapping

from PySide6.QtCore import QSortFilterProxyModel, Qt
from PySide6.QtGui import QStandardItem, QStandardItemModel
from PySide6.QtWidgets import QHeaderView, QLabel, QLineEdit, QTableView, QVBoxLayout, QWidget

_KEY = re.compile(r"^\s*(\([0-9A-Fa-f]{4},[0-9A-Fa-f]{4}\))\s*(.*)$")
_COLUMNS = ("Tag", "Keyword", "Value")
_MAX_KEYWORD_WIDTH = 170


def split_key(key: str) -> tuple[str, str]:
    """'(0010,0010) PatientName' -> ('(0010,0010)', 'PatientName'); other keys keep their text."""
    match = _KEY.match(key)
    return (match.group(1), match.group(2)) if match else ("", key)


class TagPanel(QWidget):
    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.filter_edit = QLineEdit(placeholderText="Filter by tag, keyword or value…")
        self.filter_edit.setClearButtonEnabled(True)
        self.filter_edit.setAcceptDrops(False)
        self._model = QStandardItemModel(0, len(_COLUMNS), self)
        self._model.setHorizontalHeaderLabels(list(_COLUMNS))
        self.proxy = QSortFilterProxyModel(self)
        self.proxy.setSourceModel(self._model)
        self.proxy.setFilterKeyColumn(-1)  # match any column
        self.proxy.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.table = QTableView()
        self.table.setModel(self.proxy)
        self.table.setEditTriggers(QTableView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QTableView.SelectionBehavior.SelectRows)
        self.table.verticalHeader().hide()
        self.table.setWordWrap(False)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Interactive)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        self.empty_label = QLabel("No header to show.")
        self.empty_label.setObjectName("hint")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        for widget in (self.filter_edit, self.empty_label, self.table):
            layout.addWidget(widget)
        self.filter_edit.textChanged.connect(self.proxy.setFilterFixedString)

    def set_metadata(self, metadata: Mapping[str, str], empty_text: str = "No header to show.") -> None:
        self._model.removeRows(0, self._model.rowCount())
        for key, value in metadata.items():
            tag, keyword = split_key(key)
            row = [QStandardItem(tag), QStandardItem(keyword), QStandardItem(str(value))]
            row[2].setToolTip(str(value))
            self._model.appendRow(row)
        # Long keywords (e.g. FileMetaInformationGroupLength) must not push values out of sight.
        self.table.resizeColumnToContents(1)
        self.table.setColumnWidth(1, min(self.table.columnWidth(1), _MAX_KEYWORD_WIDTH))
        self.empty_label.setText(empty_text)
        self.empty_label.setVisible(not metadata)

    def visible_rows(self) -> list[tuple[str, str, str]]:
        return [
            tuple(self.proxy.index(r, c).data() for c in range(len(_COLUMNS)))
            for r in range(self.proxy.rowCount())
        ]
