"""The Measure menu and toolbar: one checkable action per tool (only one on at a time), then edits."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QActionGroup
from PySide6.QtWidgets import QFileDialog, QMainWindow, QToolBar

from cxrviewer.measure import gsps
from cxrviewer.measure.annotation import ANGLE, ARROW, CTR, ELLIPSE, RECTANGLE, RULER, TEXT

log = logging.getLogger(__name__)

# Action id -> the kind it draws (None: no tool, the view pans).
TOOLS = {"tool_none": None, "tool_ruler": RULER, "tool_angle": ANGLE, "tool_ellipse": ELLIPSE,
         "tool_rectangle": RECTANGLE, "tool_ctr": CTR, "tool_arrow": ARROW, "tool_text": TEXT}
_EDITS = ("undo_measurement", "delete_measurement", "clear_measurements")
# Short names for the toolbar buttons; the menu has the full text.
_BUTTON_TEXT = {"tool_none": "Pan", "tool_ruler": "Ruler", "tool_angle": "Angle", "tool_ellipse": "Ellipse",
                "tool_rectangle": "Rectangle", "tool_ctr": "CTR", "tool_arrow": "Arrow", "tool_text": "Text",
                "undo_measurement": "Undo", "delete_measurement": "Delete"}


def build_measure_ui(window: QMainWindow, actions: Mapping[str, QAction], layer) -> QToolBar:
    """Menu before Go, a toolbar along the top; the checked tool follows ``layer.toolChanged``."""
    group = QActionGroup(window)
    group.setExclusive(True)
    for name in TOOLS:
        actions[name].setCheckable(True)
        group.addAction(actions[name])
    actions["tool_none"].setChecked(True)
    layer.toolChanged.connect(lambda kind: actions[_action_for(kind)].setChecked(True))

    menu = window.menuBar().addMenu("&Measure")
    menu.addActions([actions[name] for name in TOOLS])
    menu.addSeparator()
    menu.addActions([actions[name] for name in _EDITS])
    if gsps.available():  # highdicom is optional: without it, no such item
        menu.addSeparator()
        menu.addAction("Export as DICOM presentation state…").triggered.connect(
            lambda: export_presentation_state(window, layer))
    _place_before(window, menu, "&Go")

    bar = QToolBar("Measure", window)
    bar.setObjectName("measureToolbar")  # saveState/restoreState find it by name
    bar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
    for name in [*TOOLS, None, *_EDITS[:2]]:
        if name is None:
            bar.addSeparator()
            continue
        action = actions[name]
        action.setIconText(_BUTTON_TEXT[name])  # what the button shows; menus keep the full text
        action.setToolTip(f"{action.text()} ({action.shortcut().toString()})")
        bar.addAction(action)
    window.addToolBar(bar)
    return bar


def measure_handlers(layer) -> dict:
    """The shortcut table's Measure ids, bound to the canvas's measurement layer."""
    tools = {name: (lambda _=False, k=kind: layer.set_tool(k)) for name, kind in TOOLS.items()}
    tools["tool_none"] = lambda _=False: layer.escape()
    return {**tools, "delete_measurement": layer.delete_selected, "undo_measurement": layer.undo,
            "clear_measurements": layer.clear_all}


def export_presentation_state(window: QMainWindow, layer, target: Path | None = None) -> Path | None:
    """The current DICOM image's measurements as a GSPS file beside nothing of the patient's
    unless the reader picks that folder."""
    image = window.canvas.image
    if image is None or image.kind != "dicom" or not layer.annotations():
        window.status.showMessage("Nothing to export: a DICOM image with measurements is needed.", 6000)
        return None
    if target is None:
        start = str(Path(window._last_dir()) / f"{image.path.stem}_measurements_pr.dcm")
        chosen, _ = QFileDialog.getSaveFileName(window, "Export presentation state", start, "DICOM (*.dcm)")
        if not chosen:
            return None
        target = Path(chosen)
    try:
        gsps.write_presentation_state(image.path, layer.labelled(), target)
    except (OSError, ValueError) as exc:
        log.warning("presentation state export failed: %s", type(exc).__name__)
        window.status.showMessage(f"Could not export {target.name}: {exc}", 10000)
        return None
    window.status.showMessage(f"Exported {target.name}", 5000)
    return target


def _action_for(kind) -> str:
    return next(name for name, tool in TOOLS.items() if tool == kind)


def _place_before(window: QMainWindow, menu, title: str) -> None:
    bar = window.menuBar()
    before = next((a for a in bar.actions() if a.text() == title), None)
    if before is not None:
        bar.removeAction(menu.menuAction())
        bar.insertMenu(before, menu)
