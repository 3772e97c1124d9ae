"""The measurement layer on a bare canvas (no main window): tools drawn with the mouse,
select, move, delete, undo, saved sidecars, and window/level still on the right drag."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from cxrviewer.io.loader import load_image
from cxrviewer.measure.annotation import ANGLE, ARROW, CTR, ELLIPSE, RULER, TEXT, Annotation
from cxrviewer.measure.store import image_key

from .mouse import click, drag

HIP = "hip_cr_rle.dcm"


@pytest.fixture
def canvas_layer(qtbot, tmp_path, dicom_dir):
    from cxrviewer.gui.canvas import ImageCanvas
    from cxrviewer.gui.measure_layer import MeasureLayer

    canvas = ImageCanvas()
    qtbot.addWidget(canvas)
    canvas.resize(900, 900)
    layer = MeasureLayer(canvas, tmp_path / "annotations")
    canvas.show()
    qtbot.waitExposed(canvas)
    canvas.set_image(load_image(dicom_dir / HIP))
    canvas.fit()  # now that the widget has its size
    return canvas, layer


def _close(a, b, tol):
    return all(abs(p - q) <= tol for pa, pb in zip(a, b) for p, q in zip(pa, pb))


def test_ruler_drawn_with_the_mouse(qtbot, canvas_layer):
    canvas, layer = canvas_layer
    layer.set_tool(RULER)
    with qtbot.waitSignal(layer.changed):
        drag(canvas, layer.group, (400, 500), (1000, 1300))
    (ruler,) = layer.annotations()
    tol = 2 * canvas.view.viewPixelSize()[0] + 1  # a screen pixel or two, in image pixels
    assert ruler.kind == RULER and _close(ruler.points, ((400, 500), (1000, 1300)), tol)
    assert layer.describe(ruler).endswith(" mm")


def test_right_drag_windows_with_a_tool_and_left_drag_pans_without(qtbot, canvas_layer):
    canvas, layer = canvas_layer
    layer.set_tool(RULER)
    with qtbot.waitSignal(canvas.windowChanged):
        drag(canvas, layer.group, (800, 800), (1000, 900), button=Qt.MouseButton.RightButton)
    assert layer.annotations() == ()
    layer.set_tool(None)
    before_range = canvas.view.viewRange()
    drag(canvas, layer.group, (800, 800), (900, 900))
    assert canvas.view.viewRange() != before_range and layer.annotations() == ()


def test_angle_and_ctr_take_two_steps(qtbot, canvas_layer):
    canvas, layer = canvas_layer
    layer.set_tool(ANGLE)
    drag(canvas, layer.group, (300, 300), (800, 800))
    assert layer.annotations() == ()
    with qtbot.waitSignal(layer.changed):
        click(canvas, layer.group, (1300, 800))
    assert layer.describe(layer.annotations()[0]).endswith("°")
    layer.set_tool(CTR)
    drag(canvas, layer.group, (200, 1000), (1600, 1040))
    with qtbot.waitSignal(layer.changed):
        drag(canvas, layer.group, (600, 1200), (1300, 1180))
    ctr = layer.annotations()[-1]
    assert ctr.points[0][1] == ctr.points[1][1] and ctr.points[2][1] == ctr.points[3][1]
    assert layer.describe(ctr).startswith("CTR 0.5")


def test_text_and_arrow(qtbot, canvas_layer):
    canvas, layer = canvas_layer
    layer.ask_text = lambda: "line tip"
    layer.set_tool(TEXT)
    with qtbot.waitSignal(layer.changed):
        click(canvas, layer.group, (500, 500))
    layer.set_tool(ARROW)
    with qtbot.waitSignal(layer.changed):
        drag(canvas, layer.group, (300, 300), (480, 480))
    kinds = [(a.kind, a.text) for a in layer.annotations()]
    assert kinds == [(TEXT, "line tip"), (ARROW, "")]


def test_select_move_delete_undo_and_the_sidecar(qtbot, canvas_layer):
    canvas, layer = canvas_layer
    layer.add(Annotation(ELLIPSE, ((400, 400), (800, 700))))
    ruler = layer.add(Annotation(RULER, ((300, 1200), (1200, 1200))))
    layer.select(None)
    click(canvas, layer.group, (750, 1200))  # on the ruler's line, no tool chosen
    assert layer.selected is ruler
    with qtbot.waitSignal(layer.changed):
        drag(canvas, layer.group, (750, 1200), (750, 1400))
    moved = layer.annotations()[1]
    assert moved.points[0][1] == pytest.approx(1400, abs=10)
    layer.delete_selected()
    assert [a.kind for a in layer.annotations()] == [ELLIPSE]
    store, key = layer.store, image_key(canvas.image.instance_uid, canvas.image.path)
    assert [a.kind for a in store.load(key)] == [ELLIPSE]
    layer.undo()  # the delete
    assert layer.annotations()[1] == moved
    layer.undo()  # the move
    assert layer.annotations()[1].points == ((300, 1200), (1200, 1200))
    assert store.load(key) == list(layer.annotations())
    layer.undo()
    layer.undo()
    assert layer.annotations() == () and store.load(key) == []
