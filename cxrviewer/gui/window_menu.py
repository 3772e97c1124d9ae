"""The Window/level menu: the five standard presets (keys 1-5), the file's own windows, invert.

A tick marks the preset on screen; none is ticked after a right-drag ("Custom").
"""

from __future__ import annotations

from PySide6.QtGui import QAction, QActionGroup
from PySide6.QtWidgets import QMenu, QWidget

from cxrviewer.io import Window

from .status_bar import format_window


class WindowLevelMenu(QMenu):
    def __init__(self, preset_actions: list[QAction], invert: QAction, parent: QWidget | None = None) -> None:
        super().__init__("&Window/level", parent)
        self._presets = preset_actions
        self._group = QActionGroup(self)
        self._group.setExclusionPolicy(QActionGroup.ExclusionPolicy.ExclusiveOptional)
        for action in preset_actions:
            action.setCheckable(True)
            self._group.addAction(action)
            self.addAction(action)
        self.file_menu = self.addMenu("From the file")
        self.addSeparator()
        invert.setCheckable(True)
        self.addAction(invert)
        self._invert = invert
        self._file_windows: list[tuple[Window, QAction]] = []
        self._standard: tuple[Window, ...] = ()
        self.set_windows((), (), lambda _w: None)

    def set_windows(self, standard: tuple[Window, ...], from_file: tuple[Window, ...], choose) -> None:
        """Describe the image on screen; `choose(window)` applies a window from the file."""
        self._standard = standard
        self.file_menu.clear()
        self._file_windows = []
        for window in from_file:
            action = self.file_menu.addAction(f"{window.name}  ({format_window(window)})")
            action.setCheckable(True)
            self._group.addAction(action)
            action.triggered.connect(lambda _=False, w=window: choose(w))
            self._file_windows.append((window, action))
        self.file_menu.setEnabled(bool(from_file))
        for action in self._presets:
            action.setEnabled(bool(standard))

    def show_current(self, current: Window | None) -> None:
        """Tick the entry matching the window on screen, if any."""
        candidates = list(zip(self._standard, self._presets[: len(self._standard)], strict=True)) + self._file_windows
        match = next((a for w, a in candidates if current is not None and w == current), None)
        for action in self._group.actions():
            action.setChecked(action is match)

    def show_inverted(self, inverted: bool) -> None:
        self._invert.setChecked(inverted)
