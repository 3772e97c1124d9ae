"""Window/level, invert, presets, zoom, rotate/flip and the status bar, driven as a reader would."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
import pytest
from PySide6.QtCore import QEvent, QPoint, QPointF, Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from cxrviewer.gui.status_bar import format_window
from cxrviewer.imaging.voi import linear_edges
from cxrviewer.imaging.windowing import standard_presets

from .conftest import wait_until_shown

_MOVE_INTERVAL_MS = 1000 // pg.getConfigOption("mouseRateLimit") + 2


@pytest.fixture
def shown_dx(qtbot, window, chest_dx):
    window.open_paths([chest_dx])
    wait_until_shown(qtbot, window, chest_dx)
    return window


@pytest.fixture
def shown_png(qtbot, window, demo_png):
    """A non-square image (640 x 547), so rotation is visible in the geometry."""
    window.open_paths([demo_png])
    wait_until_shown(qtbot, window, demo_png)
    return window


def _levels(window) -> tuple[float, float]:
    low, high = window.canvas.base.getLevels()
    return float(low), float(high)


def _send_mouse(viewport, kind, pos: QPoint, button, buttons) -> None:
    event = QMouseEvent(kind, QPointF(pos), QPointF(viewport.mapToGlobal(pos)),
                        button, buttons, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(viewport, event)


def _right_drag(window, dx: int, dy: int, steps: int = 10) -> None:
    viewport = window.canvas.viewport()
    start = QPoint(viewport.width() // 2, viewport.height() // 2)
    right, none = Qt.MouseButton.RightButton, Qt.MouseButton.NoButton
    _send_mouse(viewport, QEvent.Type.MouseButtonPress, start, right, right)
    for i in range(1, steps + 1):
        # pyqtgraph drops move events closer than 1/mouseRateLimit apart, as a hand never is
        QTest.qWait(_MOVE_INTERVAL_MS)
        _send_mouse(viewport, QEvent.Type.MouseMove, start + QPoint(dx * i // steps, dy * i // steps), none, right)
    _send_mouse(viewport, QEvent.Type.MouseButtonRelease, start + QPoint(dx, dy), right, none)


def test_right_drag_rightwards_widens_the_window(shown_dx):
    low, high = _levels(shown_dx)
    zoom = shown_dx.canvas.zoom_percent()
    _right_drag(shown_dx, dx=120, dy=0)
    new_low, new_high = _levels(shown_dx)
    assert new_high - new_low > high - low
    assert new_low + new_high == pytest.approx(low + high)  # centre unchanged
    assert shown_dx.canvas.zoom_percent() == pytest.approx(zoom)  # not pyqtgraph's right-drag zoom
    assert shown_dx.canvas.window.name == "Custom"
    assert "Custom" in shown_dx.status.window_label.text()


def test_right_drag_down_raises_the_centre_and_left_narrows(qtbot, shown_dx):
    low, high = _levels(shown_dx)
    _right_drag(shown_dx, dx=0, dy=80)
    mid_low, mid_high = _levels(shown_dx)
    assert mid_low > low and mid_high > high
    assert mid_high - mid_low == pytest.approx(high - low)
    qtbot.wait(QApplication.doubleClickInterval() + 50)  # a separate gesture, not a double-click
    _right_drag(shown_dx, dx=-80, dy=0)
    final_low, final_high = _levels(shown_dx)
    assert final_high - final_low < mid_high - mid_low


def test_number_keys_apply_the_five_presets(qtbot, shown_dx):
    presets = standard_presets(shown_dx.canvas.image)
    seen = set()
    keys = (Qt.Key.Key_2, Qt.Key.Key_3, Qt.Key.Key_4, Qt.Key.Key_5, Qt.Key.Key_1)
    for key, preset in zip(keys, presets[1:] + presets[:1], strict=True):
        qtbot.keyClick(shown_dx, key)
        assert _levels(shown_dx) == pytest.approx((preset.low, preset.high))
        assert shown_dx.canvas.window.name == preset.name
        seen.add(_levels(shown_dx))
    assert len(seen) == 5


def test_invert_key_reverses_the_lookup_table_only(qtbot, shown_dx):
    levels = _levels(shown_dx)
    lut = shown_dx.canvas.base.lut
    assert lut[0] == 0 and lut[-1] == 255
    qtbot.keyClick(shown_dx, Qt.Key.Key_I)
    assert shown_dx.canvas.inverted
    assert shown_dx.canvas.base.lut[0] == 255 and shown_dx.canvas.base.lut[-1] == 0
    assert _levels(shown_dx) == levels
    assert "inverted" in shown_dx.overlay.text("bottom_right")
    qtbot.keyClick(shown_dx, Qt.Key.Key_I)
    assert shown_dx.canvas.base.lut[0] == 0


def _viewport_pixels(window) -> np.ndarray:
    QApplication.processEvents()
    image = window.canvas.viewport().grab().toImage().convertToFormat(
        window.canvas.viewport().grab().toImage().Format.Format_Grayscale8)
    ptr = image.constBits()
    return np.array(ptr, dtype=np.uint8).reshape(image.height(), image.bytesPerLine())[:, : image.width()].copy()


def test_flip_h_mirrors_what_is_on_screen(qtbot, shown_png):
    shown_png.set_overlay_visible(False)  # corner text is not mirrored, and should not be
    before = _viewport_pixels(shown_png).astype(int)
    qtbot.keyClick(shown_png, Qt.Key.Key_H)
    after = _viewport_pixels(shown_png).astype(int)
    changed = np.abs(after - before).mean()
    mirrored = np.abs(after - before[:, ::-1]).mean()
    assert changed > 2  # the picture changed ...
    assert mirrored < changed / 5  # ... into its mirror image


def test_flip_v_mirrors_top_to_bottom(qtbot, shown_png):
    shown_png.set_overlay_visible(False)
    before = _viewport_pixels(shown_png).astype(int)
    qtbot.keyClick(shown_png, Qt.Key.Key_V)
    after = _viewport_pixels(shown_png).astype(int)
    assert np.abs(after - before[::-1, :]).mean() < np.abs(after - before).mean() / 5


def test_rotate_turns_the_image_clockwise_and_the_overlay_follows(qtbot, shown_png):
    canvas = shown_png.canvas
    w, h = canvas.image.width, canvas.image.height
    assert (canvas.displayed_rect().width(), canvas.displayed_rect().height()) == (w, h)
    qtbot.keyClick(shown_png, Qt.Key.Key_R)
    rect = canvas.displayed_rect()
    assert (rect.width(), rect.height()) == (h, w)
    # The image's top-left corner is now at the top-right of what is shown.
    top_left = canvas.base.mapToParent(QPointF(0, 0))
    assert top_left.x() == pytest.approx(rect.right()) and top_left.y() == pytest.approx(rect.top())
    assert canvas.overlay.transform() == canvas.base.transform()
    assert "rot 90" in shown_png.overlay.text("bottom_right")
    for _ in range(3):
        qtbot.keyClick(shown_png, Qt.Key.Key_R)
    assert canvas.orientation.is_identity


def test_flip_after_rotate_flips_what_the_reader_sees(qtbot, shown_png):
    canvas = shown_png.canvas
    qtbot.keyClick(shown_png, Qt.Key.Key_R)
    corner_rotated = canvas.base.mapToParent(QPointF(0, 0))
    qtbot.keyClick(shown_png, Qt.Key.Key_H)
    corner_flipped = canvas.base.mapToParent(QPointF(0, 0))
    assert corner_flipped.x() == pytest.approx(-corner_rotated.x())  # screen left-right
    assert corner_flipped.y() == pytest.approx(corner_rotated.y())


def test_zoom_keys_and_fit(qtbot, shown_dx):
    fitted = shown_dx.canvas.zoom_percent()
    qtbot.keyClick(shown_dx, Qt.Key.Key_Plus)
    assert shown_dx.canvas.zoom_percent() == pytest.approx(fitted * 1.25, rel=0.02)
    qtbot.keyClick(shown_dx, Qt.Key.Key_Minus)
    qtbot.keyClick(shown_dx, Qt.Key.Key_Minus)
    assert shown_dx.canvas.zoom_percent() < fitted
    qtbot.keyClick(shown_dx, Qt.Key.Key_Equal)
    assert shown_dx.canvas.zoom_percent() == pytest.approx(fitted, rel=0.01)
    assert f"Zoom {fitted:.0f}%" == shown_dx.status.zoom_label.text()


def test_double_click_fits(qtbot, shown_dx):
    fitted = shown_dx.canvas.zoom_percent()
    shown_dx.canvas.zoom_in()
    shown_dx.canvas.zoom_in()
    viewport = shown_dx.canvas.viewport()
    at, left, none = viewport.rect().center(), Qt.MouseButton.LeftButton, Qt.MouseButton.NoButton
    # The sequence a real double-click produces.
    for kind in (QEvent.Type.MouseButtonPress, QEvent.Type.MouseButtonRelease,
                 QEvent.Type.MouseButtonDblClick, QEvent.Type.MouseButtonRelease):
        pressed = left if kind != QEvent.Type.MouseButtonRelease else none
        _send_mouse(viewport, kind, at, left, pressed)
    assert shown_dx.canvas.zoom_percent() == pytest.approx(fitted, rel=0.01)


def test_space_resets_window_invert_orientation_and_zoom(qtbot, shown_png):
    canvas = shown_png.canvas
    default_levels, fitted = _levels(shown_png), canvas.zoom_percent()
    for key in (Qt.Key.Key_2, Qt.Key.Key_I, Qt.Key.Key_R, Qt.Key.Key_H, Qt.Key.Key_Plus):
        qtbot.keyClick(shown_png, key)
    qtbot.keyClick(shown_png, Qt.Key.Key_Space)
    assert _levels(shown_png) == default_levels
    assert not canvas.inverted and canvas.orientation.is_identity
    assert canvas.zoom_percent() == pytest.approx(fitted, rel=0.01)


def _viewport_pos_of_pixel(canvas, col: int, row: int) -> QPoint:
    scene = canvas.base.mapToScene(QPointF(col + 0.5, row + 0.5))
    return canvas.mapFromScene(scene)


@pytest.mark.parametrize("turns", [0, 1])
def test_status_bar_shows_the_original_value_under_the_cursor(qtbot, shown_dx, turns):
    canvas = shown_dx.canvas
    for _ in range(turns):
        canvas.set_orientation(canvas.orientation.rotated_cw())
    col, row = 300, 700
    # Zoom in around the pixel so one image pixel spans several screen pixels.
    centre = canvas.base.mapToParent(QPointF(col + 0.5, row + 0.5))
    canvas.view.setRange(xRange=(centre.x() - 20, centre.x() + 20),
                         yRange=(centre.y() - 20, centre.y() + 20), padding=0)
    assert canvas.zoom_percent() > 400
    QApplication.processEvents()
    target = _viewport_pos_of_pixel(canvas, col, row)
    # A quick sweep that comes to rest on the pixel: the last position must be the one shown.
    for step in range(20, -1, -1):
        _send_mouse(canvas.viewport(), QEvent.Type.MouseMove, target + QPoint(step, step),
                    Qt.MouseButton.NoButton, Qt.MouseButton.NoButton)
    value = canvas.image.pixels[row, col]
    assert shown_dx.status.pixel_label.text() == f"x {col}  y {row}  value {value:.0f}"


def test_corner_overlay_toggles_with_o(qtbot, shown_dx):
    label = shown_dx.overlay.labels["bottom_left"]
    assert label.isVisible() and "W " in label.text()
    qtbot.keyClick(shown_dx, Qt.Key.Key_O)
    assert not label.isVisible()
    qtbot.keyClick(shown_dx, Qt.Key.Key_O)
    assert label.isVisible()


def test_overlay_window_text_follows_window_changes(qtbot, shown_dx):
    qtbot.keyClick(shown_dx, Qt.Key.Key_2)
    lung = shown_dx.canvas.window
    assert format_window(lung) in shown_dx.overlay.text("bottom_left")
    assert "Lung" in shown_dx.overlay.text("bottom_left")


def test_g_switches_the_heat_map_but_draws_nothing_without_a_map(qtbot, shown_dx):
    toggle = shown_dx.results_pane.cam_toggle
    assert toggle.isChecked()
    qtbot.keyClick(shown_dx, Qt.Key.Key_G)
    assert not toggle.isChecked() and "heat map hidden" in shown_dx.statusBar().currentMessage()
    assert not shown_dx.canvas.overlay.isVisible()
    qtbot.keyClick(shown_dx, Qt.Key.Key_G)
    assert toggle.isChecked()
    # Drawn only once a map exists (none without a model; the bundled model, once installed, makes one).
    assert shown_dx.canvas.overlay.isVisible() == shown_dx.canvas.cam.has_map()


def test_window_menu_ticks_the_preset_on_screen(qtbot, shown_dx):
    menu = shown_dx.window_menu
    ticked = lambda: [a.text() for a in menu.actions() + menu.file_menu.actions() if a.isChecked()]  # noqa: E731
    assert ticked() == ["Window: Default (from the file)"]
    qtbot.keyClick(shown_dx, Qt.Key.Key_3)
    assert ticked() == ["Window: Mediastinum"]
    _right_drag(shown_dx, dx=50, dy=0)
    assert ticked() == []  # a custom window matches no preset
    qtbot.keyClick(shown_dx, Qt.Key.Key_I)
    assert ticked() == ["Invert greyscale"]


def test_windows_stored_in_the_file_are_offered(qtbot, window, chest_cr):
    window.open_paths([chest_cr])
    wait_until_shown(qtbot, window, chest_cr)
    stored = window.canvas.image.presets
    entries = window.window_menu.file_menu.actions()
    assert [a.text().split("  (")[0] for a in entries] == [w.name for w in stored]
    qtbot.keyClick(window, Qt.Key.Key_2)
    entries[0].trigger()
    assert _levels(window) == linear_edges(stored[0])  # DICOM LINEAR: centre - 0.5, width - 1
    assert entries[0].isChecked()


def test_a_long_session_of_mouse_work_does_not_bring_the_viewer_down(qtbot, shown_dx):
    """Thousands of mouse moves and window drags: PySide6 6.12.0 on Python 3.11 aborted here
    (it drops a reference to None/True per call), which is why constraints.txt pins 6.11.3."""
    viewport = shown_dx.canvas.viewport()
    none = Qt.MouseButton.NoButton
    for i in range(3000):
        _send_mouse(viewport, QEvent.Type.MouseMove, QPoint(100 + i % 300, 100 + i % 200), none, none)
    widths = []
    for _ in range(3):
        qtbot.wait(QApplication.doubleClickInterval() + 50)  # separate gestures
        _right_drag(shown_dx, dx=300, dy=-10, steps=30)
        widths.append(shown_dx.canvas.window.width)
    assert widths == sorted(widths) and len(set(widths)) == 3  # every drag widened the window
    _send_mouse(viewport, QEvent.Type.MouseMove, viewport.rect().center(), none, none)
    assert shown_dx.status.pixel_label.text().startswith("x ")


def test_overlay_says_when_only_the_first_frame_is_shown(shown_dx):
    import dataclasses

    from cxrviewer.gui.corner_overlay import geometry_lines

    image = shown_dx.canvas.image
    assert not any("frame" in line for line in geometry_lines(image, shown_dx.canvas.orientation, False))
    multi = dataclasses.replace(image, frames=3)
    assert "frame 1 of 3" in geometry_lines(multi, shown_dx.canvas.orientation, False)
