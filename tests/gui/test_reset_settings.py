"""``cxrviewer --reset-settings``: a remembered window size, dock layout and recent files are forgotten."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSettings, QTimer
from PySide6.QtWidgets import QApplication, QWidget

from cxrviewer.gui import app as gui_app
from cxrviewer.gui.settings_reset import reset_settings

STALE_SIZE = (711, 523)  # above the window's minimum, inside the 800 x 800 offscreen screen


def _stale_geometry(qtbot) -> bytes:
    widget = QWidget()
    qtbot.addWidget(widget)
    widget.resize(*STALE_SIZE)
    return widget.saveGeometry()


def _write_stale(settings: QSettings, qtbot, recent: Path) -> None:
    settings.setValue("window/geometry", _stale_geometry(qtbot))
    settings.setValue("recent/paths", [str(recent)])
    settings.sync()


def _run_viewer(argv: list[str]) -> dict:
    """Run the real entry point, note what the window shows once it is up, and close it."""
    seen: dict = {}

    def inspect_and_quit():
        for widget in QApplication.topLevelWidgets():
            if hasattr(widget, "recent") and widget.isVisible():
                seen["size"] = (widget.width(), widget.height())
                seen["recent"] = widget.recent.paths()
                widget.close()
                return
        QTimer.singleShot(50, inspect_and_quit)

    QTimer.singleShot(50, inspect_and_quit)
    assert gui_app.main(argv) == 0
    return seen


def test_reset_clears_every_key_and_names_the_file(tmp_path, qtbot):
    settings = QSettings(str(tmp_path / "cxrviewer.ini"), QSettings.Format.IniFormat)
    _write_stale(settings, qtbot, tmp_path / "study.dcm")
    assert reset_settings(settings) == str(tmp_path / "cxrviewer.ini")
    assert QSettings(str(tmp_path / "cxrviewer.ini"), QSettings.Format.IniFormat).allKeys() == []


def test_the_flag_opens_the_viewer_without_the_remembered_layout(qtbot, tmp_path):
    for fmt in (QSettings.Format.NativeFormat, QSettings.Format.IniFormat):
        QSettings.setPath(fmt, QSettings.Scope.UserScope, str(tmp_path))  # never the user's own settings
    stored = QSettings(QSettings.Format.NativeFormat, QSettings.Scope.UserScope, "cxrviewer", "cxrviewer")
    study = tmp_path / "study.dcm"

    _write_stale(stored, qtbot, study)
    kept = _run_viewer([])
    assert kept == {"size": STALE_SIZE, "recent": [study]}  # without the flag both come back

    _write_stale(stored, qtbot, study)
    reset = _run_viewer(["--reset-settings"])
    assert reset["size"] != STALE_SIZE and reset["recent"] == []
