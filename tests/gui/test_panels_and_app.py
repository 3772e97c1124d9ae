"""Tag panel, dialogs, shortcut table, recent files, shutdown and the command line."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QSettings, Qt, QTimer
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QApplication, QDialog

from cxrviewer import __version__
from cxrviewer.gui import app as gui_app
from cxrviewer.gui.dialogs import about_markdown, help_html
from cxrviewer.gui.shortcuts import SHORTCUTS
from cxrviewer.resources import demo_images

from .conftest import LOAD_TIMEOUT_MS, wait_until_idle, wait_until_shown


@pytest.fixture
def shown_cr(qtbot, window, chest_cr):
    window.open_paths([chest_cr])
    wait_until_shown(qtbot, window, chest_cr)
    return window


def test_tag_filter_matches_keyword_value_and_tag(qtbot, shown_cr):
    panel = shown_cr.tag_panel
    everything = len(panel.visible_rows())
    assert everything > 50

    qtbot.keyClicks(panel.filter_edit, "patientname")
    assert panel.visible_rows() == [("(0010,0010)", "PatientName", "CompressedSamples^RG1")]

    panel.filter_edit.setText("THORAX")  # by value
    assert [row[1] for row in panel.visible_rows()] == ["StudyDescription"]

    panel.filter_edit.setText("(0008,0060)")  # by tag
    assert panel.visible_rows() == [("(0008,0060)", "Modality", "CR")]

    panel.filter_edit.setText("no such thing anywhere")
    assert panel.visible_rows() == []
    panel.filter_edit.clear()
    assert len(panel.visible_rows()) == everything


def test_typing_digits_in_the_filter_does_not_change_the_window(qtbot, shown_cr):
    levels = tuple(shown_cr.canvas.base.getLevels())
    shown_cr.tag_panel.filter_edit.setFocus()
    qtbot.keyClicks(shown_cr.tag_panel.filter_edit, "2")
    assert shown_cr.tag_panel.filter_edit.text() == "2"
    assert tuple(shown_cr.canvas.base.getLevels()) == levels


def test_every_shortcut_in_the_table_is_bound_and_documented(window):
    text = help_html()
    for shortcut in SHORTCUTS:
        action = window.actions_by_id[shortcut.action]
        assert [s.toString() for s in action.shortcuts()] == [QKeySequence(k).toString() for k in shortcut.keys]
        assert shortcut.text.replace("&", "&amp;") in text
    assert len({k for s in SHORTCUTS for k in s.keys}) == sum(len(s.keys) for s in SHORTCUTS)  # no clashes
    assert "Right-drag" in text and "not for diagnosis" in text


def _close_modal_soon(seen: list[str]) -> None:
    def close():
        dialog = QApplication.activeModalWidget()
        if isinstance(dialog, QDialog):
            seen.append(dialog.browser.toPlainText())
            dialog.accept()
        else:
            QTimer.singleShot(20, close)

    QTimer.singleShot(20, close)


def test_f1_opens_the_help_dialog(qtbot, window):
    seen: list[str] = []
    _close_modal_soon(seen)
    qtbot.keyClick(window, Qt.Key.Key_F1)
    assert seen and "Rotate 90° clockwise" in seen[0] and "Page Down" in seen[0]


def test_about_names_version_credits_and_intended_use(qtbot, window):
    text = about_markdown()
    assert __version__ in text
    assert "CC BY 4.0" in text and "Hannover" in text and "Kermany" in text
    assert "not for diagnosis" in text
    seen: list[str] = []
    _close_modal_soon(seen)
    window.show_about()
    assert seen and "Research use only" in seen[0]


def test_results_pane_states_research_use_only(window):
    assert window.results_pane.disclaimer.text() == "Research use only — not for diagnosis"
    assert window.results_dock.isVisible()


def test_recent_files_persist_and_missing_entries_are_removed(qtbot, settings, window, chest_dx, tmp_path):
    from cxrviewer.gui.main_window import MainWindow

    gone = tmp_path / "gone.dcm"
    gone.write_bytes(b"x")
    window.open_paths([gone, chest_dx])
    wait_until_idle(qtbot, window)
    gone.unlink()
    window.close()

    second = MainWindow(QSettings(settings.fileName(), QSettings.Format.IniFormat))
    qtbot.addWidget(second)
    assert second.recent.paths()[:2] == [chest_dx.resolve(), gone.resolve()]
    second.recent_menu.aboutToShow.emit()
    labels = [a.text() for a in second.recent_menu.actions()]
    assert any(label.endswith("(not found)") and "gone.dcm" in label for label in labels)

    second.open_recent(gone.resolve())
    assert gone.resolve() not in second.recent.paths()
    assert "no longer exists" in second.statusBar().currentMessage()
    second.open_recent(chest_dx.resolve())
    wait_until_shown(qtbot, second, chest_dx.resolve())
    second.close()


def test_closing_during_a_load_stops_the_loader_thread(qtbot, settings, dicom_files):
    from cxrviewer.gui.main_window import MainWindow

    win = MainWindow(settings)
    qtbot.addWidget(win)
    win.show()
    win.open_paths(dicom_files)  # seven decodes queued
    assert win.loader.busy()
    win.close()
    assert not win.loader.is_running()


def test_loader_never_hands_back_a_cancelled_display_request(qtbot, window, chest_cr, chest_dx):
    results = []
    window.loader.loaded.connect(results.append)
    first = window.loader.request(chest_cr)
    second = window.loader.request(chest_dx)
    qtbot.waitUntil(lambda: any(r.request_id == second for r in results), timeout=LOAD_TIMEOUT_MS)
    wait_until_idle(qtbot, window)
    qtbot.wait(50)
    display_ids = [r.request_id for r in results if r.purpose == "display"]
    assert first not in display_ids and second in display_ids


def test_command_line_opens_demo_images_and_paths_together(qtbot, tmp_path, chest_dx, monkeypatch):
    QSettings.setPath(QSettings.Format.NativeFormat, QSettings.Scope.UserScope, str(tmp_path))
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(tmp_path))
    opened: dict[str, list[Path]] = {}

    def inspect_and_quit():
        for widget in QApplication.topLevelWidgets():
            if hasattr(widget, "image_list") and widget.isVisible():
                if widget.canvas.image is None:
                    QTimer.singleShot(50, inspect_and_quit)
                    return
                opened["listed"] = widget.image_list.paths()
                opened["shown"] = [widget.canvas.image.path]
                widget.close()

    QTimer.singleShot(50, inspect_and_quit)
    assert gui_app.main(["--demo", str(chest_dx)]) == 0
    assert opened["listed"] == demo_images() + [chest_dx]
    assert opened["shown"] == [chest_dx]  # the reader's own file comes first


def test_version_flag_needs_no_gui(capsys):
    with pytest.raises(SystemExit) as exit_info:
        gui_app.main(["--version"])
    assert exit_info.value.code == 0
    assert __version__ in capsys.readouterr().out


@pytest.mark.slow  # a fresh interpreter imports the GUI
def test_the_viewer_imports_no_torch_at_run_time():
    """import-linter checks static imports; this catches a lazy or indirect one at start-up."""
    import subprocess
    import sys

    code = ("import sys; import cxrviewer.gui.app, cxrviewer.gui.main_window; "
            "sys.exit(1 if 'torch' in sys.modules or 'torchvision' in sys.modules else 0)")
    assert subprocess.run([sys.executable, "-c", code], timeout=120).returncode == 0


def test_the_window_is_built_without_pydicom_or_pynetdicom():
    """They cost about half a second of start-up; the viewer decodes in its decoder process
    and imports the PACS code at its first PACS job."""
    import subprocess
    import sys

    code = ("import sys; import cxrviewer.gui.app, cxrviewer.gui.main_window; "
            "print(sorted(m for m in ('pydicom', 'pynetdicom', 'gdcm', 'requests') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "[]"


def test_an_error_in_a_handler_is_logged_and_shown_not_fatal(qtbot, window, caplog, chest_dx):
    from cxrviewer.gui import error_hook

    uninstall = error_hook.install(lambda text: window.statusBar().showMessage(text))
    try:
        def broken():
            raise ValueError("boom")

        QTimer.singleShot(0, broken)
        qtbot.waitUntil(lambda: window.statusBar().currentMessage() == error_hook.NOTICE)
    finally:
        uninstall()
    assert any(r.levelname == "ERROR" and r.exc_info for r in caplog.records)
    window.open_paths([chest_dx])  # still usable
    wait_until_shown(qtbot, window, chest_dx)


def test_python_dash_m_runs_the_viewer_entry_point():
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-m", "cxrviewer", "--version"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stdout.strip() == f"cxrviewer {__version__}"
