"""Model ▸ Adapt to this site…: choose labelled local images, check them, adapt, compare, use.

The work runs in a `cxr adapt` child process (adapt_process); this dialog only shows
what it reports. "Use this model" hands the new folder to the AI reader, which swaps
models in its worker thread and reads the open images again; the bundled model is
one click away, here and in the AI menu.
"""

from __future__ import annotations

import html
import time
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QDialog,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from .adapt_process import AdaptProcess, adaptation_available
from .adapt_results import results_widget
from .dialogs import NOT_FOR_DIAGNOSIS

WORK_DIR = ".adapt-work"
PHASE_TITLES = {
    "reading images": "Reading the images",
    "computing features": "Running the frozen part of the model",
    "cross-validating recalibrate": "Trying recalibration",
    "cross-validating linear": "Trying a new linear head",
    "cross-validating finetune": "Trying fine-tuning of the last layers",
    "fitting the final model": "Fitting the chosen method on all images",
    "writing the model": "Saving the model",
}


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "estimating time left…"
    return f"about {seconds / 60:.0f} min left" if seconds >= 90 else f"about {max(seconds, 1):.0f} s left"


class AdaptDialog(QDialog):
    useModel = Signal(Path)  # the adapted model folder, to load in the AI reader
    useBundled = Signal()
    extra_arguments: tuple[str, ...] = ()  # more `cxr adapt` options (tests use it for shorter runs)

    def __init__(self, base_model: Path, base_name: str, output_root: Path, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Adapt the AI model to this site")
        self.base_model, self.output_root = Path(base_model), Path(output_root)
        self.process = AdaptProcess(self)
        self.report: dict | None = None
        self._out: Path | None = None
        self._checked_key: tuple[str, str] | None = None
        self._build(base_name)
        self._connect()
        available, why = adaptation_available()
        if not available:
            self._show_problem(why)
            self.data_box.setEnabled(False)
        self.resize(900, 760)

    # ----- layout -----------------------------------------------------------------------------------
    def _build(self, base_name: str) -> None:
        layout = QVBoxLayout(self)
        layout.addWidget(self._data_group())
        layout.addWidget(self._run_group(base_name))
        self.results_box = QGroupBox("3. Before and after, on this site's images")
        self.results_layout = QVBoxLayout(self.results_box)
        self.results_box.setVisible(False)
        layout.addWidget(self.results_box, stretch=100)
        layout.addStretch(1)  # keeps the groups above compact while there are no results
        layout.addLayout(self._buttons())
        note = QLabel(f"<i>{html.escape(NOT_FOR_DIAGNOSIS)}</i>")
        note.setWordWrap(True)
        layout.addWidget(note)

    def _data_group(self) -> QGroupBox:
        self.data_box = QGroupBox("1. This site's labelled chest X-rays")
        form = QFormLayout(self.data_box)
        self.data_edit = QLineEdit()
        self.data_edit.setPlaceholderText("a folder with one sub-folder per class, or a CSV with path,label[,group]")
        self.folder_button, self.csv_button = QPushButton("Folder…"), QPushButton("CSV file…")
        row = QHBoxLayout()
        row.addWidget(self.data_edit, stretch=1)
        row.addWidget(self.folder_button)
        row.addWidget(self.csv_button)
        form.addRow("Images:", row)
        self.label_map_edit = QLineEdit()
        self.label_map_edit.setPlaceholderText("optional, when the site's names differ: NORMAL=normal,PNEUMONIA=pneumonia")
        form.addRow("Label names:", self.label_map_edit)
        self.check_label = QLabel("Choose the images to see what they hold before starting.")
        self.check_label.setWordWrap(True)
        self.check_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        form.addRow("Found:", self.check_label)
        return self.data_box

    def _run_group(self, base_name: str) -> QGroupBox:
        box = QGroupBox("2. Adapt")
        layout = QVBoxLayout(box)
        layout.addWidget(QLabel(f"Starting from: <b>{html.escape(base_name)}</b>. Training runs in a separate "
                                "process; the viewer stays usable."))
        row = QHBoxLayout()
        self.start_button, self.cancel_button = QPushButton("Start"), QPushButton("Cancel")
        self.start_button.setEnabled(False)
        self.cancel_button.setEnabled(False)
        self.progress_bar = QProgressBar()
        self.progress_bar.setRange(0, 1000)
        self.progress_bar.setTextVisible(False)
        row.addWidget(self.start_button)
        row.addWidget(self.cancel_button)
        row.addWidget(self.progress_bar, stretch=1)
        layout.addLayout(row)
        self.status_label = QLabel("")
        self.status_label.setWordWrap(True)
        layout.addWidget(self.status_label)
        return box

    def _buttons(self) -> QHBoxLayout:
        row = QHBoxLayout()
        self.use_button = QPushButton("Use this model")
        self.use_button.setEnabled(False)
        self.bundled_button = QPushButton("Back to the bundled model")
        self.close_button = QPushButton("Close")
        row.addWidget(self.use_button)
        row.addWidget(self.bundled_button)
        row.addStretch(1)
        row.addWidget(self.close_button)
        return row

    def _connect(self) -> None:
        self.folder_button.clicked.connect(self._choose_folder)
        self.csv_button.clicked.connect(self._choose_csv)
        self.data_edit.editingFinished.connect(self.check_data)
        self.label_map_edit.editingFinished.connect(self.check_data)
        self.start_button.clicked.connect(self.start)
        self.cancel_button.clicked.connect(self.cancel)
        self.use_button.clicked.connect(self._use)
        self.bundled_button.clicked.connect(self.useBundled.emit)
        self.close_button.clicked.connect(self.close)
        self.process.checked.connect(self._on_checked)
        self.process.progress.connect(self._on_progress)
        self.process.done.connect(self._on_done)
        self.process.failed.connect(self._on_failed)
        self.process.cancelled.connect(self._on_cancelled)

    # ----- data -------------------------------------------------------------------------------------
    def _choose_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Folder of labelled images (one sub-folder per class)")
        if folder:
            self.set_data(Path(folder))

    def _choose_csv(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "CSV of labelled images", "", "CSV files (*.csv)")
        if path:
            self.set_data(Path(path))

    def set_data(self, path: Path, label_map: str | None = None) -> None:
        self.data_edit.setText(str(path))
        if label_map is not None:
            self.label_map_edit.setText(label_map)
        self.check_data()

    def check_data(self) -> None:
        text = self.data_edit.text().strip()
        key = (text, self.label_map_edit.text().strip())
        if key == self._checked_key:
            return  # editingFinished also fires on focus changes
        self._checked_key = key
        self.start_button.setEnabled(False)
        self._out = None  # other data: a new output folder, no resume
        if text:
            self.check_label.setText("Checking…")
            self.process.check(Path(text), self.base_model, self.label_map_edit.text())

    def _on_checked(self, found: dict) -> None:
        if not found.get("ok"):
            self._show_problem(found.get("problems", "the data cannot be used"))
            return
        counts = ", ".join(f"{html.escape(k)}: <b>{v}</b>" for k, v in found["counts"].items())
        text = f"{found['images']} images from {found['groups']} patients/groups — {counts}."
        if found.get("absent"):
            text += (f"<br>No images of {html.escape(', '.join(found['absent']))}: the model keeps what it knew "
                     "of them, but they cannot be measured here.")
        if found.get("set_aside"):
            text += f"<br>{found['set_aside']} rows marked split=test are set aside for your own final check."
        self.check_label.setText(text)
        self.check_label.setStyleSheet("")
        self.start_button.setEnabled(not self.process.is_running())

    def _show_problem(self, problem: str) -> None:
        self.check_label.setText("<br>".join(html.escape(line) for line in problem.splitlines()))
        self.check_label.setStyleSheet("color: #c00000;")

    # ----- run --------------------------------------------------------------------------------------
    def start(self) -> None:
        data = Path(self.data_edit.text().strip())
        resume = self._out is not None and (self._out / WORK_DIR).is_dir()
        if not resume:
            self._out = self.output_root / time.strftime("site-%Y%m%d-%H%M%S")
        self.report = None
        self.results_box.setVisible(False)
        self.use_button.setEnabled(False)
        self._set_running(True)
        self.status_label.setText("Starting…")
        extra = [*self.extra_arguments, *(["--resume"] if resume else [])]
        self.process.start(data, self.base_model, self._out, self.label_map_edit.text(), extra)

    def cancel(self) -> None:
        self.status_label.setText("Stopping…")
        self.process.cancel()

    def _set_running(self, running: bool) -> None:
        self.start_button.setEnabled(not running)
        self.cancel_button.setEnabled(running)
        self.data_box.setEnabled(not running)

    def _on_progress(self, event: dict) -> None:
        self.progress_bar.setValue(int(1000 * event.get("overall", 0)))
        title = PHASE_TITLES.get(event["phase"], event["phase"].capitalize())
        parts = [f"{title} ({100 * event.get('fraction', 0):.0f} %)"]
        if event.get("epoch") is not None:
            parts.append(f"epoch {event['epoch']}")
        if event.get("loss") is not None:
            parts.append(f"training loss {event['loss']:.3f}")
        if event.get("held_out_macro_f1") is not None:
            parts.append(f"held-out macro-F1 {event['held_out_macro_f1']:.3f}")
        parts.append(_duration(event.get("eta_s")))
        self.status_label.setText(" · ".join(parts))

    def _on_done(self, report: dict) -> None:
        self.report = report
        self._set_running(False)
        self.progress_bar.setValue(1000)
        self.status_label.setText(f"Done. The adapted model is saved in {report['model_dir']}.")
        while self.results_layout.count():
            self.results_layout.takeAt(0).widget().deleteLater()
        self.results = results_widget(report)
        self.results_layout.addWidget(self.results)
        self.results_box.setVisible(True)
        self.use_button.setEnabled(True)

    def _on_failed(self, message: str) -> None:
        self._set_running(False)
        self.status_label.setText(f"<span style='color:#c00000'>Adaptation failed: {html.escape(message)}</span>")

    def _on_cancelled(self) -> None:
        self._set_running(False)
        self.progress_bar.setValue(0)
        self.status_label.setText("Cancelled. Nothing was saved as a model; Start continues where it stopped.")

    def _use(self) -> None:
        if self.report is not None:
            self.useModel.emit(Path(self.report["model_dir"]))

    # ----- closing ----------------------------------------------------------------------------------
    def closeEvent(self, event) -> None:  # noqa: N802 - Qt override
        self.process.shutdown()
        super().closeEvent(event)

    def reject(self) -> None:
        self.process.shutdown()
        super().reject()
