"""Viewing tools on real films: frames of a multi-frame file, orientation letters, magnifier,
smoothing, 1:1, anticlockwise rotation, corner text in a small window, the first window size."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QEvent, QPoint, QPointF, QRect, Qt
from PySide6.QtGui import QMouseEvent, QWheelEvent
from PySide6.QtWidgets import QApplication

from cxrviewer.gui.magnifier import SIZE
from tests.multiframe_files import write_multiframe

from .conftest import CHEST_DX, LOAD_TIMEOUT_MS, wait_until_shown


@pytest.fixture(params=[False, True], ids=["uncompressed", "rle"])
def three_frames(request, dicom_dir: Path, tmp_path: Path) -> tuple[Path, np.ndarray]:
    path = tmp_path / ("three_rle.dcm" if request.param else "three_native.dcm")
    return path, write_multiframe(dicom_dir / CHEST_DX, path, rle=request.param)


def _open(qtbot, window, path: Path):
    window.open_paths([path], remember=False)
    wait_until_shown(qtbot, window, path)
    return window


def _wait_frame(qtbot, window, index: int) -> None:
    qtbot.waitUntil(lambda: window.canvas.image.frame_index == index, timeout=LOAD_TIMEOUT_MS)


def _shows(window, frames: np.ndarray, index: int) -> bool:
    return np.array_equal(window.canvas.base.image, frames[index].astype(np.float32))


# ----- frames -------------------------------------------------------------------------------------
def test_period_and_comma_step_through_the_frames_keeping_the_view(qtbot, window, three_frames):
    path, frames = three_frames
    _open(qtbot, window, path)
    bar = window.view_tools.frames.bar
    assert bar.isVisible() and bar.label.text().strip() == "1 / 3" and _shows(window, frames, 0)
    qtbot.keyClick(window, Qt.Key.Key_2)  # lung window and a zoom: both must survive a frame change
    window.canvas.zoom_in()
    window_before, range_before = window.canvas.window, window.canvas.view.viewRange()
    qtbot.keyClick(window, Qt.Key.Key_Period)
    _wait_frame(qtbot, window, 1)
    assert _shows(window, frames, 1)
    assert window.canvas.window == window_before and window.canvas.view.viewRange() == range_before
    assert "frame 2 of 3" in window.overlay.text("bottom_right") and bar.slider.value() == 2
    qtbot.keyClick(window, Qt.Key.Key_Period)
    _wait_frame(qtbot, window, 2)
    assert _shows(window, frames, 2)
    qtbot.keyClick(window, Qt.Key.Key_Period)  # past the last: stays
    qtbot.keyClick(window, Qt.Key.Key_Comma)
    _wait_frame(qtbot, window, 1)
    assert _shows(window, frames, 1)


def test_slider_and_ctrl_wheel_choose_frames_and_neighbours_are_decoded_ahead(qtbot, window, three_frames):
    path, frames = three_frames
    _open(qtbot, window, path)
    navigator = window.view_tools.frames
    qtbot.waitUntil(lambda: 1 in navigator.cache and 2 in navigator.cache, timeout=LOAD_TIMEOUT_MS)
    navigator.bar.slider.setValue(3)
    _wait_frame(qtbot, window, 2)
    assert _shows(window, frames, 2)
    viewport = window.canvas.viewport()
    centre = QPointF(viewport.width() / 2, viewport.height() / 2)
    zoom = window.canvas.zoom_percent()
    wheel = QWheelEvent(centre, viewport.mapToGlobal(centre), QPoint(), QPoint(0, 120), Qt.MouseButton.NoButton,
                        Qt.KeyboardModifier.ControlModifier, Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(viewport, wheel)  # away from the reader: the previous frame
    _wait_frame(qtbot, window, 1)
    assert _shows(window, frames, 1) and window.canvas.zoom_percent() == pytest.approx(zoom)


def test_single_frame_images_have_no_frame_bar(qtbot, window, chest_dx):
    _open(qtbot, window, chest_dx)
    assert not window.view_tools.frames.bar.isVisible()
    qtbot.keyClick(window, Qt.Key.Key_Period)
    assert window.canvas.image.frame_index == 0


# ----- orientation letters, rotation ----------------------------------------------------------------
def test_orientation_letters_follow_rotate_and_flip(qtbot, window, chest_cr):
    _open(qtbot, window, chest_cr)  # PatientOrientation L\F: a PA chest as stored
    markers = window.view_tools.markers
    assert markers.letters() == {"left": "R", "right": "L", "top": "H", "bottom": "F"}
    assert all(label.isVisible() for label in markers.labels.values())
    qtbot.keyClick(window, Qt.Key.Key_R)
    assert markers.letters() == {"left": "F", "right": "H", "top": "R", "bottom": "L"}
    qtbot.keyClick(window, Qt.Key.Key_R, Qt.KeyboardModifier.ShiftModifier)  # anticlockwise: back upright
    assert window.canvas.orientation.is_identity
    qtbot.keyClick(window, Qt.Key.Key_R, Qt.KeyboardModifier.ShiftModifier)
    assert window.canvas.orientation.describe() == "rot 270"
    assert markers.letters()["left"] == "H"
    qtbot.keyClick(window, Qt.Key.Key_Space)
    qtbot.keyClick(window, Qt.Key.Key_H)
    assert markers.letters() == {"left": "L", "right": "R", "top": "H", "bottom": "F"}
    qtbot.keyClick(window, Qt.Key.Key_O)  # hidden with the corner text
    assert not any(label.isVisible() for label in markers.labels.values())


def test_no_letters_without_orientation_in_the_file(qtbot, window, chest_dx):
    _open(qtbot, window, chest_dx)
    assert window.view_tools.markers.letters() == {}


# ----- magnifier, smoothing, 1:1 -------------------------------------------------------------------
def _move(viewport, pos: QPoint) -> None:
    event = QMouseEvent(QEvent.Type.MouseMove, QPointF(pos), QPointF(viewport.mapToGlobal(pos)),
                        Qt.MouseButton.NoButton, Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(viewport, event)


def test_magnifier_follows_the_cursor_and_enlarges(qtbot, window, chest_cr):
    _open(qtbot, window, chest_cr)
    loupe = window.view_tools.magnifier
    qtbot.keyClick(window, Qt.Key.Key_Z)
    viewport = window.canvas.viewport()
    for pos in (QPoint(viewport.width() // 3, viewport.height() // 2), QPoint(viewport.width() // 2, 80)):
        _move(viewport, pos)
        assert loupe.view.isVisible()
        offset = loupe.view.geometry().center() - viewport.mapTo(window.canvas, pos)
        assert abs(offset.x()) <= 1 and abs(offset.y()) <= 1  # centred on the cursor (QRect.center rounds down)
        (x0, x1), _ = loupe.box.viewRange()
        centre = window.canvas.view.mapSceneToView(window.canvas.mapToScene(pos))
        assert (x0 + x1) / 2 == pytest.approx(centre.x(), abs=1)
    # On a fitted 1955-pixel film the loupe shows full resolution: SIZE image pixels across.
    assert x1 - x0 == pytest.approx(SIZE, rel=0.02)
    assert np.shares_memory(loupe.item.image, window.canvas.base.image) or \
        np.array_equal(loupe.item.image, window.canvas.base.image)
    qtbot.keyClick(window, Qt.Key.Key_2)
    assert np.allclose(loupe.item.getLevels(), window.canvas.base.getLevels())
    qtbot.keyClick(window, Qt.Key.Key_Z)
    assert not loupe.view.isVisible()


def _steps_along_a_row(window) -> int:
    """How often the grey level changes along the canvas's middle row on screen."""
    image = window.canvas.grab().toImage()
    row = [image.pixelColor(x, image.height() // 2).red() for x in range(image.width())]
    return int(np.count_nonzero(np.diff(row)))


def test_smooth_enlargement_and_nearest_neighbour_toggle(qtbot, window, chest_dx):
    _open(qtbot, window, chest_dx)
    for _ in range(12):
        window.canvas.zoom_in()  # far past 1:1, so one image pixel covers several screen pixels
    window.canvas.view.translateBy((-200, -150))  # lung and a rib, not the flat mediastinum
    QApplication.processEvents()
    assert window.canvas.smooth and window.actions_by_id["toggle_smooth"].isChecked()
    smooth = _steps_along_a_row(window)
    qtbot.keyClick(window, Qt.Key.Key_S)
    assert not window.canvas.smooth and not window.actions_by_id["toggle_smooth"].isChecked()
    blocks = _steps_along_a_row(window)
    image_pixels_across = window.canvas.viewport().width() * 100 / window.canvas.zoom_percent()
    assert blocks <= image_pixels_across + 2  # one grey per image pixel: it changes only at their borders
    assert smooth > 2 * blocks  # interpolated: a ramp between neighbours


def test_ctrl_0_shows_one_image_pixel_per_screen_pixel(qtbot, window, chest_cr):
    _open(qtbot, window, chest_cr)
    assert window.canvas.zoom_percent() < 60
    qtbot.keyClick(window, Qt.Key.Key_0, Qt.KeyboardModifier.ControlModifier)
    assert window.canvas.zoom_percent() == pytest.approx(100, abs=0.5)
    assert "Zoom 100%" in window.overlay.text("bottom_left")


# ----- corner text, first window, preset tick -------------------------------------------------------
def _rects(window) -> dict[str, QRect]:
    rects = {name: label.geometry() for name, label in window.overlay.labels.items() if label.isVisible()}
    rects |= {f"letter_{edge}": label.geometry() for edge, label in window.view_tools.markers.labels.items()
              if label.isVisible()}
    return rects


@pytest.mark.parametrize("size", [(1029, 526), (1280, 720), (1600, 1000)])
def test_corner_text_never_overlaps_and_stays_on_the_canvas(qtbot, window, chest_cr, size):
    window.resize(*size)
    _open(qtbot, window, chest_cr)
    qtbot.keyClick(window, Qt.Key.Key_R)  # a longer bottom-right block
    QApplication.processEvents()
    rects = _rects(window)
    assert {"top_left", "top_right", "bottom_left", "bottom_right", "letter_top", "letter_left"} <= set(rects)
    canvas = window.canvas.rect()
    for name, rect in rects.items():
        assert canvas.contains(rect), (name, rect, canvas)
    for (a, ra), (b, rb) in itertools.combinations(rects.items(), 2):
        assert not ra.intersects(rb), (a, ra, b, rb)
    assert window.overlay.shown_text("top_left").splitlines()[0]  # the patient's name, if elided, is shown
    assert "rot 90" in window.overlay.text("bottom_right")  # every line stays available (exports)


def test_first_start_fills_most_of_the_screen(qtbot, settings):
    from cxrviewer.gui.main_window import MainWindow

    win = MainWindow(settings)
    qtbot.addWidget(win)
    available = win.screen().availableGeometry()
    assert win.width() == pytest.approx(0.85 * available.width(), abs=2)
    assert win.height() == pytest.approx(0.85 * available.height(), abs=2)
    assert available.contains(win.geometry())
    win.close()


def test_preset_tick_is_right_after_a_reset(qtbot, window, chest_cr):
    _open(qtbot, window, chest_cr)
    default, lung = window.actions_by_id["preset_1"], window.actions_by_id["preset_2"]
    assert default.isChecked()
    qtbot.keyClick(window, Qt.Key.Key_2)
    assert lung.isChecked() and not default.isChecked()
    qtbot.keyClick(window, Qt.Key.Key_Space)
    assert default.isChecked() and not lung.isChecked()
    assert window.canvas.window == window._presets[0]
