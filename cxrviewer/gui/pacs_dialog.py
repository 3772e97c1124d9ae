"""File ▸ Open from PACS…: search a PACS, retrieve the chosen studies into the cache, open their images.

All network work goes to the window's PacsWorker (one TaskThread); this dialog only
builds jobs and shows their messages. A failed study is named in its row and the
others go on; Cancel stops a retrieval between studies. Patient data is shown here,
for the reader who searched, and never logged.
"""

from __future__ import annotations

import html

from PySide6.QtCore import QSettings, Qt, Signal
from PySide6.QtWidgets import (QAbstractItemView, QComboBox, QDialog, QFormLayout, QGridLayout, QGroupBox,
                               QHBoxLayout, QHeaderView, QLabel, QLineEdit, QProgressBar, QPushButton, QSpinBox,
                               QStackedWidget, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget)

from cxrviewer.pacs.errors import PacsError
from cxrviewer.pacs.jobs import (FindJob, JobFailed, RetrieveFinished, RetrieveJob, RetrieveProgress, StudiesFound,
                                 StudyFailed, StudyRetrieved)
from cxrviewer.pacs.query import StudyQuery, StudySummary, parse_date, parse_modalities
from cxrviewer.tasks.queue import QueueFullError

from .pacs_settings import (BASIC, BEARER, DICOMWEB, DIMSE, NO_AUTH, PacsNodeSettings, SecretStore,
                            load_node_settings, save_node_settings)
from .pacs_worker import PacsWorker

COLUMNS = ("Date", "Patient", "Patient ID", "Accession", "Modalities", "Description", "Images", "Status")
STATUS_COLUMN = COLUMNS.index("Status")
_UID_ROLE = Qt.ItemDataRole.UserRole + 1


class OpenFromPacsDialog(QDialog):
    # Per retrieved study: (tuple of image paths, PacsNodeSettings, first study of this retrieval?)
    studyRetrieved = Signal(object, object, bool)

    def __init__(self, settings: QSettings, secrets: SecretStore, worker: PacsWorker, parent=None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Open from PACS")
        self.settings, self.secrets, self.worker = settings, secrets, worker
        self._find_id = self._retrieve_id = 0
        self._retrieve_node: PacsNodeSettings | None = None
        self._opened = 0  # studies of the current retrieval opened so far
        self.studies: list[StudySummary] = []
        layout = QVBoxLayout(self)
        layout.addWidget(self._node_group())
        layout.addWidget(self._search_group())
        self.table = self._table()
        layout.addWidget(self.table, stretch=1)
        layout.addLayout(self._bottom_row())
        self.status_label = QLabel("Search by patient, accession or date; CR and DX studies by default.")
        self.status_label.setWordWrap(True)
        self.status_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.status_label)
        self.worker.message.connect(self._on_message)
        self._show_node(load_node_settings(settings))
        self.resize(1000, 640)

    # ----- building ------------------------------------------------------------------------------
    def _node_group(self) -> QGroupBox:
        box = QGroupBox("PACS node")
        outer = QVBoxLayout(box)
        row = QHBoxLayout()
        self.kind_picker = QComboBox()
        self.kind_picker.addItem("DICOMweb", DICOMWEB)
        self.kind_picker.addItem("DIMSE (C-FIND / C-GET)", DIMSE)
        row.addWidget(QLabel("Protocol"))
        row.addWidget(self.kind_picker)
        row.addStretch(1)
        outer.addLayout(row)
        self.node_pages = QStackedWidget()
        web = QWidget()
        grid = QGridLayout(web)
        grid.setContentsMargins(0, 0, 0, 0)
        self.url_edit = QLineEdit()
        self.url_edit.setPlaceholderText("http://pacs:8042/dicom-web")
        self.auth_picker = QComboBox()
        for text, value in (("No sign-in", NO_AUTH), ("User and password", BASIC), ("Bearer token", BEARER)):
            self.auth_picker.addItem(text, value)
        self.user_edit = QLineEdit()
        self.secret_edit = QLineEdit()
        self.secret_edit.setEchoMode(QLineEdit.EchoMode.Password)
        grid.addWidget(QLabel("Base URL"), 0, 0)
        grid.addWidget(self.url_edit, 0, 1, 1, 3)
        grid.addWidget(QLabel("Sign-in"), 1, 0)
        grid.addWidget(self.auth_picker, 1, 1)
        grid.addWidget(QLabel("User"), 1, 2)
        grid.addWidget(self.user_edit, 1, 3)
        grid.addWidget(QLabel("Password / token"), 2, 2)
        grid.addWidget(self.secret_edit, 2, 3)
        self.node_pages.addWidget(web)
        dimse = QWidget()
        form = QGridLayout(dimse)
        form.setContentsMargins(0, 0, 0, 0)
        self.aet_edit, self.host_edit, self.our_aet_edit = QLineEdit(), QLineEdit(), QLineEdit()
        self.port_spin = QSpinBox()
        self.port_spin.setRange(1, 65535)
        form.addWidget(QLabel("PACS AE title"), 0, 0)
        form.addWidget(self.aet_edit, 0, 1)
        form.addWidget(QLabel("Host"), 0, 2)
        form.addWidget(self.host_edit, 0, 3)
        form.addWidget(QLabel("Port"), 0, 4)
        form.addWidget(self.port_spin, 0, 5)
        form.addWidget(QLabel("Our AE title"), 1, 0)
        form.addWidget(self.our_aet_edit, 1, 1)
        self.node_pages.addWidget(dimse)
        outer.addWidget(self.node_pages)
        self.secret_note = QLabel(f"<small>{html.escape(self.secrets.note)}</small>")
        self.secret_note.setWordWrap(True)
        outer.addWidget(self.secret_note)
        self.kind_picker.currentIndexChanged.connect(lambda i: self.node_pages.setCurrentIndex(i))
        self.auth_picker.currentIndexChanged.connect(self._auth_changed)
        return box

    def _search_group(self) -> QGroupBox:
        box = QGroupBox("Search")
        form = QFormLayout(box)
        self.name_edit, self.patient_id_edit, self.accession_edit = QLineEdit(), QLineEdit(), QLineEdit()
        self.name_edit.setPlaceholderText("DOE^J* (wildcards allowed)")
        self.date_from_edit, self.date_to_edit = QLineEdit(), QLineEdit()
        for edit in (self.date_from_edit, self.date_to_edit):
            edit.setPlaceholderText("YYYY-MM-DD")
        self.modality_edit = QLineEdit("CR,DX")
        row1 = QHBoxLayout()
        row1.addWidget(self.name_edit, 2)
        row1.addWidget(QLabel("Patient ID"))
        row1.addWidget(self.patient_id_edit, 1)
        row1.addWidget(QLabel("Accession"))
        row1.addWidget(self.accession_edit, 1)
        form.addRow("Patient name", row1)
        row2 = QHBoxLayout()
        row2.addWidget(self.date_from_edit)
        row2.addWidget(QLabel("to"))
        row2.addWidget(self.date_to_edit)
        row2.addWidget(QLabel("Modalities"))
        row2.addWidget(self.modality_edit)
        self.search_button = QPushButton("Search")
        self.search_button.setDefault(True)
        self.search_button.clicked.connect(self.search)
        row2.addWidget(self.search_button)
        form.addRow("Study date", row2)
        return box

    def _table(self) -> QTableWidget:
        table = QTableWidget(0, len(COLUMNS))
        table.setHorizontalHeaderLabels(COLUMNS)
        table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        table.verticalHeader().setVisible(False)
        header = table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(COLUMNS.index("Description"), QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(STATUS_COLUMN, QHeaderView.ResizeMode.Interactive)  # a long reason is elided
        table.setColumnWidth(STATUS_COLUMN, 300)
        table.setWordWrap(False)
        table.setTextElideMode(Qt.TextElideMode.ElideRight)
        table.itemSelectionChanged.connect(self._update_buttons)
        table.itemDoubleClicked.connect(lambda _item: self.retrieve_selected())
        return table

    def _bottom_row(self) -> QHBoxLayout:
        row = QHBoxLayout()
        self.retrieve_button = QPushButton("Retrieve and open")
        self.retrieve_button.clicked.connect(self.retrieve_selected)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(self.cancel)
        self.progress = QProgressBar()
        self.progress.setTextVisible(False)  # shown, as "n of m studies", while retrieving
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        close = QPushButton("Close")
        close.clicked.connect(self.close)
        row.addWidget(self.retrieve_button)
        row.addWidget(self.cancel_button)
        row.addWidget(self.progress, 1)
        row.addWidget(close)
        self._update_buttons()
        return row

    # ----- the node ----------------------------------------------------------------------------------
    def _show_node(self, node: PacsNodeSettings) -> None:
        self.kind_picker.setCurrentIndex(max(0, self.kind_picker.findData(node.kind)))
        self.url_edit.setText(node.url)
        self.auth_picker.setCurrentIndex(max(0, self.auth_picker.findData(node.auth)))
        self.user_edit.setText(node.username)
        self.aet_edit.setText(node.ae_title)
        self.host_edit.setText(node.host)
        self.port_spin.setValue(int(node.port))
        self.our_aet_edit.setText(node.our_ae_title)
        self._timeout, self._cache_dir = node.timeout_s, node.cache_dir
        self.secret_edit.setText(self.secrets.get(node.secret_key) or "" if node.auth != NO_AUTH else "")
        self._auth_changed()

    def node_settings(self) -> PacsNodeSettings:
        return PacsNodeSettings(kind=self.kind_picker.currentData(), url=self.url_edit.text().strip(),
                                auth=self.auth_picker.currentData(), username=self.user_edit.text().strip(),
                                ae_title=self.aet_edit.text().strip(), host=self.host_edit.text().strip(),
                                port=self.port_spin.value(), our_ae_title=self.our_aet_edit.text().strip(),
                                timeout_s=self._timeout, cache_dir=self._cache_dir)

    def _auth_changed(self) -> None:
        auth = self.auth_picker.currentData()
        self.user_edit.setEnabled(auth == BASIC)
        self.secret_edit.setEnabled(auth != NO_AUTH)

    def _node(self):
        """The node as typed (saved, secret kept), or None after saying what is wrong."""
        settings = self.node_settings()
        secret = self.secret_edit.text() if settings.auth != NO_AUTH and settings.kind == DICOMWEB else None
        try:
            node = settings.node(secret)
        except PacsError as exc:
            self._say(str(exc), error=True)
            return None, settings
        save_node_settings(self.settings, settings)
        if secret:
            self.secrets.set(settings.secret_key, secret)
        return node, settings

    # ----- searching -------------------------------------------------------------------------------------
    def search(self) -> None:
        node, _ = self._node()
        if node is None:
            return
        try:
            query = StudyQuery(patient_name=self.name_edit.text().strip() or None,
                               patient_id=self.patient_id_edit.text().strip() or None,
                               accession=self.accession_edit.text().strip() or None,
                               date_from=_date(self.date_from_edit.text()), date_to=_date(self.date_to_edit.text()),
                               modalities=parse_modalities(self.modality_edit.text() or "CR,DX"))
        except PacsError as exc:
            self._say(str(exc), error=True)
            return
        if self._find_id:
            self.worker.cancel(self._find_id)
        try:
            self._find_id = self.worker.submit(FindJob(node, query))
        except QueueFullError as exc:
            self._say(str(exc), error=True)
            return
        self._say(f"Searching {html.escape(_where(node))}…")
        self.progress.setTextVisible(False)
        self.progress.setRange(0, 0)  # busy
        self._update_buttons()

    def _show_studies(self, studies: tuple[StudySummary, ...]) -> None:
        self.studies = list(studies)
        self.table.setRowCount(0)
        for study in studies:
            row = self.table.rowCount()
            self.table.insertRow(row)
            values = (_date_text(study.study_date), study.patient_name.replace("^", " ").strip(), study.patient_id,
                      study.accession, "/".join(study.modalities), study.description,
                      "" if study.instances is None else str(study.instances), "")
            for column, value in enumerate(values):
                item = QTableWidgetItem(value)
                item.setData(_UID_ROLE, study.study_uid)
                self.table.setItem(row, column, item)
        if studies:
            self.table.selectRow(0)
        self._say(f"{len(studies)} stud{'y' if len(studies) == 1 else 'ies'} found." if studies
                  else "No matching studies.")

    # ----- retrieving ----------------------------------------------------------------------------------------
    def selected_study_uids(self) -> tuple[str, ...]:
        rows = sorted({index.row() for index in self.table.selectionModel().selectedRows()})
        return tuple(self.table.item(r, 0).data(_UID_ROLE) for r in rows)

    def retrieve_selected(self) -> None:
        uids = self.selected_study_uids()
        if not uids or self._retrieve_id:
            return
        node, settings = self._node()
        if node is None:
            return
        try:
            self._retrieve_id = self.worker.submit(RetrieveJob(node, uids, cache_dir=settings.cache_root()))
        except QueueFullError as exc:
            self._say(str(exc), error=True)
            return
        self._retrieve_node, self._opened = settings, 0
        self.progress.setFormat("%v of %m studies")
        self.progress.setTextVisible(True)
        for uid in uids:
            self._set_status(uid, "waiting")
        self.progress.setRange(0, len(uids))
        self.progress.setValue(0)
        self._say(f"Retrieving {len(uids)} stud{'y' if len(uids) == 1 else 'ies'}…")
        self._update_buttons()

    def cancel(self) -> None:
        for job_id in (self._find_id, self._retrieve_id):
            if job_id:
                self.worker.cancel(job_id)
        if self._find_id:
            self._find_id = 0
            self._idle("Search cancelled.")
        if self._retrieve_id:
            self._say("Cancelling: the study being retrieved finishes first…")

    # ----- messages from the worker ---------------------------------------------------------------------------------
    def _on_message(self, message) -> None:
        job_id = getattr(message, "job_id", 0)
        if job_id == self._find_id and job_id:
            self._find_id = 0
            self._idle()
            if isinstance(message, StudiesFound):
                self._show_studies(message.studies)
            elif isinstance(message, JobFailed):
                self._say(f"Search failed: {html.escape(message.message)}", error=True)
            return
        if job_id != self._retrieve_id or not job_id:
            return
        if isinstance(message, RetrieveProgress):
            self.progress.setRange(0, max(1, message.total))
            self.progress.setValue(message.done)
        elif isinstance(message, StudyRetrieved):
            skipped = f", {message.skipped} other object(s) skipped" if message.skipped else ""
            self._set_status(message.study_uid, f"opened: {len(message.paths)} image(s){skipped}")
            self.studyRetrieved.emit(message.paths, self._retrieve_node, self._opened == 0)
            self._opened += 1
        elif isinstance(message, StudyFailed):
            # The row names the study: its UID need not be repeated in front of the reason.
            reason = message.message.removeprefix(f"study {message.study_uid}: ")
            self._set_status(message.study_uid, f"failed: {reason}")
        elif isinstance(message, JobFailed):
            self._retrieve_id = 0
            self._idle()
            self._say(f"Retrieval failed: {html.escape(message.message)}", error=True)
        elif isinstance(message, RetrieveFinished):
            self._retrieve_id = 0
            self._idle()
            text = f"{message.retrieved} stud{'y' if message.retrieved == 1 else 'ies'} retrieved"
            if message.failed:
                text += f", {message.failed} failed (see the Status column)"
            if message.cancelled:
                text += "; cancelled"
            self._say(text + ".", error=bool(message.failed))

    # ----- small helpers ---------------------------------------------------------------------------------
    def _set_status(self, study_uid: str, text: str) -> None:
        for row in range(self.table.rowCount()):
            if self.table.item(row, 0).data(_UID_ROLE) == study_uid:
                item = self.table.item(row, STATUS_COLUMN)
                item.setText(text)
                item.setToolTip(text)

    def _idle(self, text: str | None = None) -> None:
        if self.progress.maximum() == 0:  # a search's busy bar
            self.progress.setRange(0, 1)
            self.progress.setValue(0)
        self._update_buttons()
        if text:
            self._say(text)

    def _say(self, text: str, error: bool = False) -> None:
        self.status_label.setText(f"<span style='color:#e06c5a'>{text}</span>" if error else text)

    def _update_buttons(self) -> None:
        if not hasattr(self, "cancel_button"):
            return
        busy = bool(self._find_id or self._retrieve_id)
        self.cancel_button.setEnabled(busy)
        self.retrieve_button.setEnabled(not self._retrieve_id and bool(self.table.selectionModel().selectedRows()))

    def busy(self) -> bool:
        return bool(self._find_id or self._retrieve_id)

    def closeEvent(self, event) -> None:  # noqa: N802 (Qt API)
        self.cancel()
        super().closeEvent(event)


def _date(text: str):
    text = text.strip()
    return parse_date(text) if text else None


def _date_text(value: str) -> str:
    return f"{value[:4]}-{value[4:6]}-{value[6:8]}" if len(value) == 8 and value.isdigit() else value


def _where(node) -> str:
    return getattr(node, "url", None) or f"{node.ae_title}@{node.host}:{node.port}"

