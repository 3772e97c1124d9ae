"""The canvas shows the file's own numbers and draws through the file's VOI transform.

Most tests use a bare ImageCanvas (no main window, no decoder processes, so they stay
in the quick run); the last opens the MONOCHROME1 film in the whole viewer.
"""

from __future__ import annotations

import numpy as np
import pydicom
import pytest
from PySide6.QtCore import QEvent, QPoint, QPointF, Qt
from PySide6.QtGui import QImage, QMouseEvent
from PySide6.QtWidgets import QApplication
from pydicom.dataset import Dataset
from pydicom.pixels import apply_modality_lut

from cxrviewer.gui.canvas import ImageCanvas
from cxrviewer.gui.corner_overlay import display_lines
from cxrviewer.imaging.windowing import render
from cxrviewer.io import load_image

from .conftest import wait_until_shown

RAMP = (np.arange(64 * 64, dtype=np.uint16) % 4096).reshape(64, 64)


@pytest.fixture
def canvas(qtbot):
    widget = ImageCanvas()
    qtbot.addWidget(widget)
    widget.resize(640, 480)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


def _write(tmp_path, name: str, **attrs) -> object:
    from tests.io.conftest import build_dataset  # the I/O tests' DICOM builder

    path = tmp_path / name
    build_dataset(RAMP, BitsStored=12, HighBit=11, **attrs).save_as(path, enforce_file_format=True)
    return path


def _drawn(canvas: ImageCanvas) -> np.ndarray:
    """The grey levels pyqtgraph made of the base image (levels + lookup table), unscaled."""
    canvas.base.render()
    qimage = canvas.base.qimage.convertToFormat(QImage.Format.Format_Grayscale8)
    h, w = qimage.height(), qimage.width()
    return np.frombuffer(qimage.constBits(), np.uint8).reshape(h, qimage.bytesPerLine())[:, :w].copy()


def _gamma_lut() -> Dataset:
    item = Dataset()
    item.LUTDescriptor = [3000, 500, 12]
    item.LUTData = np.round(np.linspace(0, 1, 3000) ** 0.5 * 4095).astype("<u2").tobytes()
    item["LUTData"].VR = "OW"
    return item


@pytest.mark.parametrize("attrs", [
    {"WindowCenter": 1500, "WindowWidth": 1200, "VOILUTFunction": "SIGMOID"},
    {"WindowCenter": 1500, "WindowWidth": 1200, "PhotometricInterpretation": "MONOCHROME1"},
    {"VOILUTSequence": [_gamma_lut()]},
], ids=["sigmoid", "monochrome1", "voi-lut"])
def test_screen_draws_what_an_export_renders(qtbot, canvas, tmp_path, attrs):
    image = load_image(_write(tmp_path, "x.dcm", **attrs))
    canvas.set_image(image)
    drawn = _drawn(canvas)
    assert drawn.shape == image.pixels.shape  # no downsampling at this size
    assert np.abs(drawn.astype(int) - render(image)).max() <= 1


def _move_to_pixel(canvas: ImageCanvas, col: int, row: int) -> None:
    scene = canvas.base.mapToScene(QPointF(col + 0.5, row + 0.5))
    pos = canvas.mapFromScene(scene)
    event = QMouseEvent(QEvent.Type.MouseMove, QPointF(pos), QPointF(canvas.viewport().mapToGlobal(pos)),
                        Qt.MouseButton.NoButton, Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(canvas.viewport(), event)


def test_monochrome1_readout_is_the_stored_value(qtbot, canvas, chest_cr):
    """The issue's pixel: stored 8030 was read out as 24737 (32767 - 8030)."""
    ds = pydicom.dcmread(chest_cr)
    values = apply_modality_lut(ds.pixel_array, ds)
    row, col = (int(v) for v in np.argwhere(values == 8030)[0])
    canvas.set_image(load_image(chest_cr))
    centre = canvas.base.mapToParent(QPointF(col + 0.5, row + 0.5))
    canvas.view.setRange(xRange=(centre.x() - 10, centre.x() + 10), yRange=(centre.y() - 10, centre.y() + 10),
                         padding=0)
    QApplication.processEvents()
    with qtbot.waitSignal(canvas.cursorMoved) as moved:
        _move_to_pixel(canvas, col, row)
    assert moved.args == [col, row, 8030.0]


def test_monochrome1_default_window_reads_as_the_header(canvas, chest_cr):
    """L 15000 as the header says, not 17767 (32767 - 15000); drawn inverted, so bone is white."""
    image = load_image(chest_cr)
    canvas.set_image(image)
    assert display_lines(canvas.window, 100)[0] == "W 30000  L 15000"
    assert canvas.base.lut[0] == 255 and canvas.base.lut[-1] == 0
    assert not canvas.inverted  # the reader has not inverted anything


def test_reader_invert_on_monochrome1_shows_the_stored_polarity(canvas, tmp_path):
    image = load_image(_write(tmp_path, "m1.dcm", PhotometricInterpretation="MONOCHROME1",
                              WindowCenter=2048, WindowWidth=4096))
    canvas.set_image(image)
    canvas.set_inverted(True)
    assert np.abs(_drawn(canvas).astype(int) - render(image, reader_inverted=True)).max() <= 1
    assert _drawn(canvas)[0, 0] < 10  # stored 0 is black once the reader inverts a MONOCHROME1 film


def test_monochrome1_film_in_the_viewer(qtbot, window, chest_cr):
    window.open_paths([chest_cr])
    wait_until_shown(qtbot, window, chest_cr)
    assert window.status.window_label.text().startswith("W 30000  L 15000")
    assert window.overlay.text("bottom_left").startswith("W 30000  L 15000")
    names = [a.text() for a in window.window_menu.file_menu.actions()]
    assert names == ["File window  (W 30000  L 15000)"]


def test_dragging_down_darkens_a_monochrome1_film_too(canvas, tmp_path):
    """Down = darker on every film: on MONOCHROME1 that is a lower centre."""
    image = load_image(_write(tmp_path, "m1.dcm", PhotometricInterpretation="MONOCHROME1",
                              WindowCenter=2048, WindowWidth=2048))
    canvas.set_image(image)
    before = _drawn(canvas).mean()
    canvas.view.windowDragged.emit(0.0, 80.0)
    assert canvas.window.center < 2048 and canvas.window.name == "Custom"
    assert _drawn(canvas).mean() < before - 10
