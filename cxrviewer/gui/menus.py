"""Actions from the shortcut table, and the menu bar that arranges them."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QDockWidget, QMainWindow, QMenu

from .shortcuts import SHORTCUTS
from .window_menu import WindowLevelMenu

_VIEW_ITEMS = ("zoom_in", "zoom_out", "fit", "actual_size", "rotate", "rotate_ccw", "flip_h", "flip_v", "reset",
               None, "toggle_overlay", "toggle_magnifier", "toggle_smooth", "toggle_cam", "toggle_lungs")
_AI_ITEMS = ("toggle_cam", "toggle_lungs", None, "cancel_batch")
_MODEL_ITEMS = ("load_model", "model_card", None, "adapt_model", "use_bundled_model")
_GO_ITEMS = ("previous_image", "next_image", "first_image", "last_image", None, "previous_frame", "next_frame")


def build_actions(window: QMainWindow, handlers: Mapping[str, Callable]) -> dict[str, QAction]:
    """One QAction per row of SHORTCUTS, added to the window so keys work without menus."""
    actions = {}
    for shortcut in SHORTCUTS:
        action = QAction(shortcut.text, window)
        action.setShortcuts([QKeySequence(k) for k in shortcut.keys])
        action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        action.triggered.connect(handlers[shortcut.action])
        window.addAction(action)
        actions[shortcut.action] = action
    return actions


def _add_items(menu: QMenu, actions: Mapping[str, QAction], names) -> None:
    for name in names:
        menu.addAction(actions[name]) if name else menu.addSeparator()


def build_menu_bar(window: QMainWindow, actions: Mapping[str, QAction], recent_menu: QMenu,
                   docks: list[QDockWidget], show_about: Callable[[], None],
                   export_privacy: QAction) -> WindowLevelMenu:
    """File, View, Window/level, Go, AI, Model, Help. Returns the Window/level menu, which tracks state."""
    bar = window.menuBar()
    file_menu = bar.addMenu("&File")
    file_menu.addActions([actions["open_files"], actions["open_folder"]])
    file_menu.addMenu(recent_menu)
    file_menu.addAction(actions["close_all"])
    file_menu.addSeparator()
    file_menu.addActions([actions["export_view"], actions["export_report"], export_privacy])
    file_menu.addSeparator()
    file_menu.addAction(actions["quit"])

    view_menu = bar.addMenu("&View")
    _add_items(view_menu, actions, _VIEW_ITEMS)
    view_menu.addSeparator()
    view_menu.addActions([dock.toggleViewAction() for dock in docks])

    window_menu = WindowLevelMenu([actions[f"preset_{n}"] for n in range(1, 6)], actions["invert"], window)
    bar.addMenu(window_menu)
    _add_items(bar.addMenu("&Go"), actions, _GO_ITEMS)
    _add_items(bar.addMenu("&AI"), actions, _AI_ITEMS)
    _add_items(bar.addMenu("&Model"), actions, _MODEL_ITEMS)

    help_menu = bar.addMenu("&Help")
    help_menu.addAction(actions["help"])
    help_menu.addAction("&About cxrviewer").triggered.connect(show_about)
    return window_menu
