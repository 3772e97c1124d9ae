"""Measurements in the viewer: tools from the menu and keys, saved per image in the data
folder and back after the viewer is closed and opened again, in the exported view."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QSettings, Qt
from PySide6.QtGui import QImage

from cxrviewer.measure.annotation import CTR, ELLIPSE, RULER, Annotation
from tests.measure.mouse import drag

from .conftest import show_main_window, wait_until_shown

HIP = "hip_cr_rle.dcm"


@pytest.fixture
def data_folder(tmp_path, settings: QSettings):  # ask for it before `window`: the window reads it once
    folder = tmp_path / "user-data" / "annotations"
    settings.setValue("annotations/folder", str(folder))
    return folder


def _open(qtbot, window, path):
    window.open_paths([path], remember=False)
    wait_until_shown(qtbot, window, path)
    window.canvas.fit()


def _new_window(qtbot, settings):
    return show_main_window(qtbot, settings)


def test_tools_from_the_keyboard_survive_closing_the_viewer(qtbot, settings, data_folder, dicom_dir, tmp_path):
    hip = dicom_dir / HIP
    first = _new_window(qtbot, settings)
    _open(qtbot, first, hip)
    layer = first.measure
    qtbot.keyClick(first, Qt.Key.Key_M)  # the ruler
    assert layer.tool == RULER and first.actions_by_id["tool_ruler"].isChecked()
    with qtbot.waitSignal(layer.changed):
        drag(first.canvas, layer.group, (300, 400), (1300, 400))
    layer.add(Annotation(ELLIPSE, ((500, 900), (900, 1200))))
    layer.add(Annotation(CTR, ((200, 1500), (1500, 1500), (500, 1700), (1100, 1700))))
    qtbot.keyClick(first, Qt.Key.Key_Escape)
    assert layer.tool is None and first.actions_by_id["tool_none"].isChecked()
    drawn = layer.annotations()
    assert [a.kind for a in drawn] == [RULER, ELLIPSE, CTR]
    assert list(data_folder.glob("*.json")) and not list(hip.parent.glob("*.json"))
    first.close()

    second = _new_window(qtbot, settings)
    try:
        _open(qtbot, second, hip)
        assert second.measure.annotations() == drawn
        labels = [label for _, label in second.measure.labelled()]
        assert labels[0].endswith(" mm") and "detector" not in labels[0]
        assert labels[2].startswith("CTR 0.46")
    finally:
        second.close()


def test_delete_and_undo_keys(qtbot, data_folder, window, dicom_dir):
    _open(qtbot, window, dicom_dir / HIP)
    layer = window.measure
    ruler = layer.add(Annotation(RULER, ((100, 100), (600, 100))))
    layer.add(Annotation(ELLIPSE, ((500, 900), (900, 1200))))
    layer.select(ruler)
    qtbot.keyClick(window, Qt.Key.Key_Delete)
    assert [a.kind for a in layer.annotations()] == [ELLIPSE]
    qtbot.keyClick(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert [a.kind for a in layer.annotations()] == [RULER, ELLIPSE]  # back where it was


def test_exported_view_carries_the_measurements(qtbot, data_folder, window, dicom_dir, tmp_path):
    _open(qtbot, window, dicom_dir / HIP)
    plain = window.exporter.export_view(tmp_path / "plain.png")
    window.measure.add(Annotation(RULER, ((100, 1000), (1600, 1000))))
    marked = window.exporter.export_view(tmp_path / "marked.png")
    a, b = (_rgb(QImage(str(p))) for p in (plain, marked))
    row = b[1000, 200:1500]
    yellow = (row[:, 0] > 200) & (row[:, 1] > 170) & (row[:, 2] < 80)
    assert yellow.mean() > 0.9  # the ruler's line, in the annotation colour
    assert np.array_equal(a[:900], b[:900])  # far from it, the image is untouched


def _rgb(image: QImage) -> np.ndarray:
    image = image.convertToFormat(QImage.Format.Format_RGB888)
    raw = np.frombuffer(image.constBits(), np.uint8, image.sizeInBytes())
    return raw.reshape(image.height(), image.bytesPerLine())[:, : 3 * image.width()].reshape(image.height(), -1, 3).copy()  # before the QImage goes


def test_presentation_state_export_from_the_viewer(qtbot, data_folder, window, dicom_dir, tmp_path):
    pytest.importorskip("highdicom")
    import pydicom

    from cxrviewer.gui.measure_menu import export_presentation_state

    _open(qtbot, window, dicom_dir / HIP)
    window.measure.add(Annotation(RULER, ((100, 1000), (1600, 1000))))
    written = export_presentation_state(window, window.measure, tmp_path / "pr.dcm")
    texts = [t.UnformattedTextValue for t in pydicom.dcmread(written).GraphicAnnotationSequence[0].TextObjectSequence]
    assert texts == ["300.0 mm"]
