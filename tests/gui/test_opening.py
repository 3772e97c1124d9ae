"""Opening images: real DICOMs and demo rasters, folders, drops, bad files, stale loads."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QApplication

from cxrviewer.imaging.voi import linear_edges
from cxrviewer.imaging.windowing import standard_presets

from .conftest import LOAD_TIMEOUT_MS, wait_until_idle, wait_until_shown


def test_real_dicom_is_shown_with_default_window_and_header(qtbot, window, chest_cr):
    assert window.status.zoom_label.text() == ""  # nothing open, nothing to report
    window.open_paths([chest_cr])
    wait_until_shown(qtbot, window, chest_cr)

    image = window.canvas.image
    assert image.photometric == "MONOCHROME1"
    assert window.canvas.base.image.shape == image.pixels.shape == (1955, 1841)
    default = standard_presets(image)[0]
    assert (default.center, default.width, default.function) == (15000, 30000, "LINEAR")  # the header's
    assert tuple(window.canvas.base.getLevels()) == linear_edges(default)
    assert window.canvas.message() == ""
    assert "CompressedSamples, RG1" in window.overlay.text("top_left")
    assert "THORAX" in window.overlay.text("top_right")
    assert any(row[1] == "PatientName" for row in window.tag_panel.visible_rows())
    assert "chest_cr_mono1" in window.windowTitle()
    assert window.status.zoom_label.text() == f"Zoom {window.canvas.zoom_percent():.0f}%"


def test_first_pixels_are_painted(qtbot, window, chest_dx):
    with qtbot.waitSignal(window.canvas.base.painted, timeout=LOAD_TIMEOUT_MS):
        window.open_paths([chest_dx])


def test_demo_png_and_jpeg_open_without_a_header(qtbot, window, demo_png, demo_jpeg):
    window.open_paths([demo_png, demo_jpeg])
    wait_until_shown(qtbot, window, demo_png)
    assert window.canvas.image.kind == "png"
    assert ("", "Format", "PNG") in window.tag_panel.visible_rows()
    assert not any(row[0] for row in window.tag_panel.visible_rows())  # no DICOM tags
    assert window.overlay.text("top_left") == demo_png.name  # no patient data: the file name

    window.image_list.step(+1)
    wait_until_shown(qtbot, window, demo_jpeg)
    assert window.canvas.image.kind == "jpeg"
    assert window.image_list.paths() == [demo_png, demo_jpeg]


def test_folder_is_walked_recursively_and_skips_non_images(qtbot, window, study_folder):
    window.open_paths([study_folder])
    wait_until_shown(qtbot, window, study_folder / "a_chest.dcm")  # the walk ran in the loader thread
    assert [p.name for p in window.image_list.paths()] == ["a_chest.dcm", "b_chest.png"]


def test_thumbnails_replace_the_placeholder(qtbot, window, study_folder):
    window.open_paths([study_folder])
    qtbot.waitUntil(lambda: window.image_list.count() == 2, timeout=LOAD_TIMEOUT_MS)

    def grey_levels_in_png_icon() -> int:
        icon = window.image_list.item(1).icon().pixmap(96, 96).toImage()
        return len({icon.pixelColor(x, y).value()
                    for x in range(0, icon.width(), 8) for y in range(0, icon.height(), 8)})

    assert grey_levels_in_png_icon() == 1  # the flat placeholder ...
    qtbot.waitUntil(lambda: grey_levels_in_png_icon() > 10, timeout=LOAD_TIMEOUT_MS)  # ... becomes a chest


def _drag_and_drop(target, mime: QMimeData) -> tuple[bool, bool]:
    """Deliver drag-enter then drop to `target` as Qt would; returns (enter accepted, drop accepted)."""
    point = QPointF(20, 20)
    # QDragEnterEvent takes an integer QPoint on PySide6 6.11; QDropEvent a QPointF.
    enter = QDragEnterEvent(point.toPoint(), Qt.DropAction.CopyAction, mime,
                            Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(target, enter)
    drop = QDropEvent(point, Qt.DropAction.CopyAction, mime,
                      Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(target, drop)
    return enter.isAccepted(), drop.isAccepted()


def _urls(paths: list[Path]) -> QMimeData:
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    return mime


def test_dropping_files_on_the_image_opens_them(qtbot, window, chest_dx, demo_png):
    mime = _urls([chest_dx, demo_png])
    assert _drag_and_drop(window.canvas.viewport(), mime) == (True, True)
    assert window.image_list.paths() == [chest_dx, demo_png]
    wait_until_shown(qtbot, window, chest_dx)


def test_dropping_a_folder_on_the_list_opens_its_images(qtbot, window, study_folder):
    mime = _urls([study_folder])
    assert _drag_and_drop(window.image_list.viewport(), mime) == (True, True)
    wait_until_shown(qtbot, window, study_folder / "a_chest.dcm")
    assert [p.name for p in window.image_list.paths()] == ["a_chest.dcm", "b_chest.png"]


def test_dropping_text_is_refused(window):
    mime = QMimeData()
    mime.setText("hello")
    assert _drag_and_drop(window, mime) == (False, False)
    assert window.image_list.count() == 0


def test_bad_file_is_reported_and_the_next_image_still_opens(qtbot, window, random_bytes_file, chest_dx):
    window.open_paths([random_bytes_file, chest_dx])
    qtbot.waitUntil(lambda: window.image_list.error_for(random_bytes_file) is not None,
                    timeout=LOAD_TIMEOUT_MS)
    reason = window.image_list.error_for(random_bytes_file)
    assert "broken.dcm" in reason and "not a DICOM" in reason
    row = window.image_list.item(0)
    assert row.text().startswith("⚠") and reason in row.toolTip()
    qtbot.waitUntil(lambda: reason in window.canvas.message(), timeout=LOAD_TIMEOUT_MS)
    assert window.canvas.image is None
    assert reason in window.statusBar().currentMessage()
    assert window.status.window_label.text() == ""  # no stale W/L from another image

    qtbot.keyClick(window, Qt.Key.Key_PageDown)
    wait_until_shown(qtbot, window, chest_dx)
    assert window.canvas.message() == ""

    qtbot.keyClick(window, Qt.Key.Key_PageUp)  # back to the failed file: the reason again
    assert reason in window.canvas.message()


def test_missing_and_folder_only_inputs_are_explained(qtbot, window, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    window.open_paths([empty])
    qtbot.waitUntil(lambda: "No images found in empty" in window.statusBar().currentMessage(),
                    timeout=LOAD_TIMEOUT_MS)
    assert window.image_list.count() == 0

    missing = tmp_path / "gone.dcm"
    window.open_paths([missing])
    qtbot.waitUntil(lambda: "file not found" in window.canvas.message(), timeout=LOAD_TIMEOUT_MS)


def test_a_stale_load_never_replaces_the_newer_choice(qtbot, window, chest_cr, chest_dx):
    window.open_paths([chest_cr, chest_dx])
    window.image_list.step(+1)  # moved on before the big CR finished decoding
    wait_until_shown(qtbot, window, chest_dx)
    wait_until_idle(qtbot, window)
    qtbot.wait(50)  # let any queued result arrive
    assert window.canvas.image.path == chest_dx


def test_previous_and_next_with_keys(qtbot, window, chest_dx, demo_png, demo_jpeg):
    window.open_paths([chest_dx, demo_png, demo_jpeg])
    wait_until_shown(qtbot, window, chest_dx)
    qtbot.keyClick(window, Qt.Key.Key_Right)
    wait_until_shown(qtbot, window, demo_png)
    qtbot.keyClick(window, Qt.Key.Key_PageDown)
    wait_until_shown(qtbot, window, demo_jpeg)
    qtbot.keyClick(window, Qt.Key.Key_PageDown)  # already at the end
    assert "Last image" in window.statusBar().currentMessage()
    qtbot.keyClick(window, Qt.Key.Key_Left)
    wait_until_shown(qtbot, window, demo_png)
    qtbot.keyClick(window, Qt.Key.Key_PageUp)
    wait_until_shown(qtbot, window, chest_dx)


def test_pixels_shown_are_the_loaded_pixels(qtbot, window, chest_dx):
    window.open_paths([chest_dx])
    wait_until_shown(qtbot, window, chest_dx)
    np.testing.assert_array_equal(window.canvas.base.image, window.canvas.image.pixels)


def test_a_file_opened_with_a_folder_is_shown_first(qtbot, window, study_folder, demo_jpeg):
    window.open_paths([study_folder, demo_jpeg])
    wait_until_shown(qtbot, window, demo_jpeg)
    qtbot.waitUntil(lambda: window.image_list.count() == 3, timeout=LOAD_TIMEOUT_MS)
    wait_until_idle(qtbot, window)
    assert window.canvas.image.path == demo_jpeg  # the scan result did not steal the view


def test_home_end_and_close_all(qtbot, window, chest_dx, demo_png, demo_jpeg):
    window.open_paths([chest_dx, demo_png, demo_jpeg])
    wait_until_shown(qtbot, window, chest_dx)
    qtbot.keyClick(window, Qt.Key.Key_End)
    wait_until_shown(qtbot, window, demo_jpeg)
    qtbot.keyClick(window, Qt.Key.Key_Home)
    wait_until_shown(qtbot, window, chest_dx)

    qtbot.keyClick(window, Qt.Key.Key_W, Qt.KeyboardModifier.ControlModifier)
    assert window.image_list.count() == 0
    assert window.canvas.image is None and "No image open" in window.canvas.message()
    assert window.tag_panel.visible_rows() == []
    assert window.status.window_label.text() == ""
    wait_until_idle(qtbot, window)
    qtbot.wait(50)
    assert window.image_list.count() == 0  # no late result put anything back


@pytest.mark.parametrize("focus", ["canvas", "image_list"])
def test_navigation_keys_step_once_wherever_the_focus_is(qtbot, window, chest_dx, demo_png, demo_jpeg, focus):
    window.open_paths([chest_dx, demo_png, demo_jpeg])
    wait_until_shown(qtbot, window, chest_dx)
    widget = getattr(window, focus)
    widget.setFocus()
    qtbot.keyClick(widget, Qt.Key.Key_Down)
    wait_until_shown(qtbot, window, demo_png)
    assert window.image_list.currentRow() == 1  # one step, not one from the list and one from us
    qtbot.keyClick(widget, Qt.Key.Key_Space)  # reset, not "select item"
    assert window.image_list.currentRow() == 1


def test_a_file_that_aborts_its_decoder_is_reported_and_the_viewer_goes_on(qtbot, window, chest_dx, tmp_path,
                                                                           monkeypatch):
    """A decoder abort (GDCM's, on some damaged files) in the viewer's own process ended the
    session; in the decoder process it is one file's error. The abort is delivered by hand
    (tests/decoder_abort.py): the files that caused it are now refused before GDCM runs."""
    from tests.decoder_abort import abort_decoder_on

    bomb = tmp_path / "aborts.dcm"
    bomb.write_bytes(chest_dx.read_bytes())
    abort_decoder_on(monkeypatch, bomb.name)
    window.open_paths([bomb, chest_dx], remember=False)
    qtbot.waitUntil(lambda: window.image_list.error_for(bomb) is not None, timeout=LOAD_TIMEOUT_MS)
    reason = window.image_list.error_for(bomb)
    assert "aborts.dcm" in reason and "decoder crashed" in reason
    qtbot.waitUntil(lambda: reason in window.canvas.message(), timeout=LOAD_TIMEOUT_MS)
    qtbot.keyClick(window, Qt.Key.Key_PageDown)
    wait_until_shown(qtbot, window, chest_dx)


def _hostile_corpus():
    import importlib.util

    spec = importlib.util.spec_from_file_location("hostile_corpus", Path(__file__).resolve().parents[1] / "hostile_corpus.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_hostile_corpus_folder_opens_each_file_fails_alone_and_the_skips_are_named(qtbot, window, tmp_path):
    """Every hostile file gets its own reason in the list, the left-out entries are named in the
    status bar, the file with an undecodable name opens, and the viewer goes on working."""
    corpus = _hostile_corpus()
    folder = tmp_path / "hostile"
    corpus.build(folder)
    window.open_paths([folder], remember=False)
    hostile = [folder / name for name in corpus.EXPECTED]
    listed = len(corpus.EXPECTED) + len(corpus.DECODES) + len(corpus.SKIPPED)
    qtbot.waitUntil(lambda: len(window.image_list.paths()) == listed, timeout=LOAD_TIMEOUT_MS)
    for name, reason in corpus.SKIPPED.items():  # a row of its own with its reason, like a failed file
        assert window.image_list.error_for(folder / name) == f"{name}: left out of the folder: {reason}"
    message, tooltip = window.status.currentMessage(), window.status.toolTip()
    for name, reason in corpus.SKIPPED.items():
        assert f"{name} ({reason.split(' (')[0]})" in message and f"{name}: {reason}" in tooltip, message
    for path in hostile:
        window.image_list.select_path(path)
        qtbot.waitUntil(lambda: window.image_list.error_for(path) is not None, timeout=60_000)
        reason = window.image_list.error_for(path)
        assert reason.startswith(path.name) and corpus.PATIENT_NAME not in reason
    latin1 = folder / os.fsdecode(next(iter(corpus.DECODES)))
    window.image_list.select_path(latin1)
    wait_until_shown(qtbot, window, latin1)
