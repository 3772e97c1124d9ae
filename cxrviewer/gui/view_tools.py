"""The viewing tools around the canvas: orientation letters, magnifier, smoothing, 1:1, frames.

Built by the main window: ``ViewTools(window)`` first (its handlers go into the shortcut
table's actions), ``attach(loader, actions)`` once the loader and actions exist.
"""

from __future__ import annotations

from PySide6.QtWidgets import QMainWindow

from .frames import FrameNavigator
from .magnifier import Magnifier
from .orientation_markers import OrientationMarkers


class ViewTools:
    def __init__(self, window: QMainWindow) -> None:
        self._window = window
        self.canvas = canvas = window.canvas
        self.markers = OrientationMarkers(canvas)
        self.magnifier = Magnifier(canvas)
        self.frames: FrameNavigator | None = None
        self._actions: dict = {}
        for signal in (canvas.imageChanged, canvas.orientationChanged):
            signal.connect(self._show_letters)

    def attach(self, loader, actions: dict) -> None:
        self.frames = FrameNavigator(self._window, self.canvas, loader)
        self.frames.message.connect(lambda text: self._window.statusBar().showMessage(text, 10000))
        self._actions = actions
        for name, on in (("toggle_smooth", self.canvas.smooth), ("toggle_magnifier", False)):
            actions[name].setCheckable(True)
            actions[name].setChecked(on)

    def handlers(self) -> dict:
        canvas = self.canvas
        return {
            "rotate_ccw": lambda: canvas.set_orientation(canvas.orientation.rotated_ccw()),
            "actual_size": canvas.actual_size,
            "toggle_smooth": lambda: self.set_smooth(not canvas.smooth),
            "toggle_magnifier": lambda: self.set_magnifier(not self.magnifier.enabled),
            "next_frame": lambda: self.frames and self.frames.step(+1),
            "previous_frame": lambda: self.frames and self.frames.step(-1),
        }

    def set_smooth(self, smooth: bool) -> None:
        self.canvas.set_smooth(smooth)
        self.magnifier.set_enabled(self.magnifier.enabled)  # the loupe draws the same way
        self._check("toggle_smooth", smooth)
        self._say("Enlarged pixels " + ("smoothed (interpolated)" if smooth else "as blocks (nearest neighbour)"))

    def set_magnifier(self, on: bool) -> None:
        self.magnifier.set_enabled(on)
        self._check("toggle_magnifier", on)
        self._say("Magnifier on: it follows the cursor over the image" if on else "Magnifier off")

    def set_letters_visible(self, visible: bool) -> None:
        self.markers.set_visible(visible)

    def _show_letters(self, *_args) -> None:
        self.markers.show_for(self.canvas.image, self.canvas.orientation)

    def _check(self, name: str, on: bool) -> None:
        action = self._actions.get(name)
        if action is not None:
            action.setChecked(on)

    def _say(self, text: str) -> None:
        self._window.statusBar().showMessage(text, 3000)
