"""The Measure menu and toolbar: one checkable action per tool (only one on at a time), then edits."""

from __future__ import annotations

from collections.abc import Mapping

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QActionGroup
from PySide6.QtWidgets import QMainWindow, QToolBar

from cxrviewer.measure.annotation import ANGLE, ARROW, CTR, ELLIPSE, RECTANGLE, RULER, TEXT

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


def _action_for(kind) -> str:
    return next(name for name, tool in TOOLS.items() if tool == kind)


def _place_before(window: QMainWindow, menu, title: str) -> None:
    bar = window.menuBar()
    before = next((a for a in bar.actions() if a.text() == title), None)
    if before is not None:
        bar.removeAction(menu.menuAction())
        bar.insertMenu(before, menu)
