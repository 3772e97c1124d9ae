"""What the viewer's start-up skips (cxrviewer/gui/pyqtgraph_import.py, cxrviewer/startup_gc.py) changes nothing else."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import PySide6.QtCore
import PySide6.QtGui
import PySide6.QtWidgets
import pytest

from cxrviewer.gui import pyqtgraph_import

SOURCES = {"QtCore": PySide6.QtCore, "QtGui": PySide6.QtGui, "QtWidgets": PySide6.QtWidgets}
MODULE_OWN = {"__name__", "__doc__", "__package__", "__loader__", "__spec__", "__path__", "__file__", "__cached__",
              "__builtins__", "__getattr__", "__dir__"}


def test_this_test_process_runs_pyqtgraph_on_the_lazy_mirrors():
    """So every GUI test in the run exercises pyqtgraph the way the viewer starts it."""
    import pyqtgraph

    for name in pyqtgraph_import.MIRRORED:
        assert isinstance(getattr(pyqtgraph.Qt, name), pyqtgraph_import.LazyQtMirror)


@pytest.mark.parametrize("name", sorted(SOURCES))
def test_every_qt_name_reads_through_pyqtgraph_as_the_same_object(name):
    import pyqtgraph

    mirror, source = getattr(pyqtgraph.Qt, name), SOURCES[name]
    names = [n for n in dir(source) if n not in MODULE_OWN]
    assert len(names) > 150  # PySide6's listing is whole again after pyqtgraph's import
    assert [n for n in names if getattr(mirror, n) is not getattr(source, n)] == []
    assert set(names) <= set(dir(mirror))
    with pytest.raises(AttributeError):
        mirror.QNoSuchClass  # noqa: B018


def test_what_pyqtgraph_adds_to_its_mirrors_is_kept():
    import pyqtgraph

    assert pyqtgraph.Qt.QtGui.QFileSystemModel is PySide6.QtWidgets.QFileSystemModel  # its PySide6 shim
    assert pyqtgraph.Qt.VERSION_INFO.startswith("PySide6 ")


def test_the_installed_pyqtgraph_is_one_the_lazy_mirrors_are_known_to_fit():
    """A pyqtgraph whose mirror packages hold code gets its own import (slower, still right)."""
    assert pyqtgraph_import._pyqtgraph_mirrors_are_empty()


START_UP = r"""
import gc, json, sys, time
from cxrviewer.startup_gc import pause_collection
paused = pause_collection()
from PySide6.QtCore import QSettings, QTimer
from PySide6.QtWidgets import QApplication
app = QApplication([])
import PySide6.QtWidgets
listed_before = len(PySide6.QtWidgets.__dict__)
from cxrviewer.gui.main_window import MainWindow
report = {"paused": paused, "enabled_while_building": gc.isenabled(),
          "qt_widgets_created": len(PySide6.QtWidgets.__dict__) - listed_before,
          "qt_widgets_listed": len(dir(PySide6.QtWidgets))}
window = MainWindow(QSettings(sys.argv[1], QSettings.Format.IniFormat))
window.show()
deadline = time.monotonic() + 60
while not gc.isenabled() and time.monotonic() < deadline:
    app.processEvents()
report.update(enabled_after_paint=gc.isenabled(), frozen=gc.get_freeze_count())
window.close()
print(json.dumps(report))
"""


@pytest.mark.slow  # a fresh interpreter builds the window
@pytest.mark.parametrize("switch", ["", "1"])
def test_collection_is_paused_until_the_first_paint_then_start_up_is_frozen(tmp_path, switch):
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "CXR_STARTUP_GC": switch}
    done = subprocess.run([sys.executable, "-c", START_UP, str(tmp_path / "s.ini")], capture_output=True,
                          text=True, timeout=180, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["enabled_after_paint"]
    if switch == "1":  # CXR_STARTUP_GC=1: the collector stays on, nothing is frozen
        assert report["enabled_while_building"] and not report["paused"] and report["frozen"] == 0
    else:
        assert report["paused"] and not report["enabled_while_building"]
        assert report["frozen"] > 20_000  # modules, classes and functions of start-up
    # pyqtgraph's import created only the Qt classes it uses, not all PySide6 lists
    assert report["qt_widgets_created"] < report["qt_widgets_listed"] / 2
