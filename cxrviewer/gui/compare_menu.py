"""View ▸ Layout: single image, 1×2 and 2×2 comparison, and the link toggle."""

from __future__ import annotations

from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import QMainWindow, QMenu

from .compare_view import ONE_BY_TWO, SINGLE, TWO_BY_TWO, CompareView

_LAYOUTS = (
    ("layout_single", "Single image", "Ctrl+1", SINGLE),
    ("layout_1x2", "Compare 1×2: the prior beside the current image", "Ctrl+2", ONE_BY_TWO),
    ("layout_2x2", "Compare 2×2: the three most recent priors", "Ctrl+4", TWO_BY_TWO),
)


def build_compare_ui(window: QMainWindow, compare: CompareView) -> dict[str, QAction]:
    """The layout actions (window shortcuts) in a Layout submenu of the View menu."""
    menu = QMenu("&Layout", window)
    group = QActionGroup(window)
    actions: dict[str, QAction] = {}
    for name, text, key, mode in _LAYOUTS:
        action = QAction(text, window, checkable=True)
        action.setShortcut(QKeySequence(key))
        action.setChecked(mode == SINGLE)
        action.triggered.connect(lambda _=False, m=mode: compare.set_layout(m))
        group.addAction(action)
        menu.addAction(action)
        actions[name] = action
    menu.addSeparator()
    link = QAction("Link zoom, pan and window/level", window, checkable=True)
    link.setShortcut(QKeySequence("Ctrl+L"))
    link.setChecked(True)
    link.toggled.connect(compare.set_linked)
    menu.addAction(link)
    actions["link_views"] = link
    for action in actions.values():
        window.addAction(action)
    view_menu = next((a.menu() for a in window.menuBar().actions() if a.text() == "&View"), None)
    if view_menu is not None:
        view_menu.addSeparator()
        view_menu.addMenu(menu)
    return actions
