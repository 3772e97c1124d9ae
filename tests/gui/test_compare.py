"""Comparison layouts on a patient with priors built from the shared DICOMs: the prior chosen by
itself, viewports that zoom, pan and window together (and apart when unlinked), a reading each."""

from __future__ import annotations

import pytest

from cxrviewer.gui.compare_view import ONE_BY_TWO, SINGLE, TWO_BY_TWO
from cxrviewer.gui.view_link import relative_view
from cxrviewer.io import Window
from tests.study_files import patient_with_priors

from .conftest import LOAD_TIMEOUT_MS, wait_until_shown


@pytest.fixture
def patient(tmp_path, dicom_dir):
    return patient_with_priors(dicom_dir, tmp_path / "patient")


def _open_current(qtbot, window, patient):
    window.open_paths([patient["current_pa.dcm"], patient["prior_pa.dcm"], patient["older_cr.dcm"]],
                      remember=False)
    wait_until_shown(qtbot, window, patient["current_pa.dcm"])
    qtbot.waitUntil(lambda: len(window.list_panel.study_index) == 3, timeout=LOAD_TIMEOUT_MS)
    window.list_panel.regroup_now()


def _showing(canvas, path) -> bool:
    return canvas.image is not None and canvas.image.path == path


def test_single_canvas_is_the_default_and_1x2_brings_the_prior(qtbot, window, patient):
    _open_current(qtbot, window, patient)
    compare = window.compare
    assert compare.layout_mode == SINGLE and compare.priors == []  # built only when a reader compares
    window.compare_actions["layout_1x2"].trigger()
    assert compare.layout_mode == ONE_BY_TWO and compare.priors[0].isVisible()
    assert not compare.priors[1].isVisible() and not compare.priors[2].isVisible()
    assert compare.link.canvases == [window.canvas, *compare.priors]
    qtbot.waitUntil(lambda: _showing(compare.priors[0], patient["prior_pa.dcm"]), timeout=LOAD_TIMEOUT_MS)
    assert compare.captions[0].text().startswith("CURRENT  ·  2024-03-10")
    corners = [label for label in window.overlay.labels.values() if label.isVisible() and label.text()]
    assert corners  # the patient's name and ID are shown up there ...
    qtbot.waitUntil(lambda: not any(c.geometry().intersects(compare.captions[0].geometry()) for c in corners))
    # ... and the caption keeps clear of them
    assert compare.captions[1].text().startswith("PRIOR  ·  2023-01-05") and "AI:" in compare.captions[1].text()
    window.compare_actions["layout_2x2"].trigger()
    qtbot.waitUntil(lambda: _showing(compare.priors[1], patient["older_cr.dcm"]), timeout=LOAD_TIMEOUT_MS)
    assert compare.priors[2].image is None and "No earlier study" in compare.priors[2].message()
    # Going to the prior in the list: its own prior (2021) comes beside it.
    window.compare_actions["layout_1x2"].trigger()
    window.image_list.select_path(patient["prior_pa.dcm"])
    wait_until_shown(qtbot, window, patient["prior_pa.dcm"])
    qtbot.waitUntil(lambda: _showing(compare.priors[0], patient["older_cr.dcm"]), timeout=LOAD_TIMEOUT_MS)
    window.compare_actions["layout_single"].trigger()
    assert not compare.priors[0].isVisible() and not compare.captions[0].isVisible()


def test_linked_viewports_zoom_pan_and_window_together(qtbot, window, patient):
    _open_current(qtbot, window, patient)
    window.compare_actions["layout_1x2"].trigger()
    main, prior = window.canvas, window.compare.priors[0]
    qtbot.waitUntil(lambda: _showing(prior, patient["prior_pa.dcm"]), timeout=LOAD_TIMEOUT_MS)
    main.zoom_in()
    main.zoom_in()
    main.view.translateBy(x=80, y=-40)
    assert relative_view(prior) == pytest.approx(relative_view(main), abs=0.02)
    main.set_window(Window("Custom", 90.0, 120.0))
    assert (prior.window.center, prior.window.width) == (90.0, 120.0)  # same kind and depth: the same numbers
    window.compare_actions["link_views"].trigger()  # off
    before = relative_view(prior)
    main.zoom_out()
    main.set_window(Window("Custom", 60.0, 200.0))
    assert relative_view(prior) == pytest.approx(before, abs=1e-6) and prior.window.center == 90.0
    window.compare_actions["link_views"].trigger()  # on again: the prior catches up
    assert relative_view(prior) == pytest.approx(relative_view(main), abs=0.02) and prior.window.center == 60.0


def test_a_prior_on_another_scale_keeps_its_own_window(qtbot, window, patient):
    window.open_paths([patient["prior_pa.dcm"], patient["older_cr.dcm"]], remember=False)
    wait_until_shown(qtbot, window, patient["prior_pa.dcm"])
    qtbot.waitUntil(lambda: len(window.list_panel.study_index) == 2, timeout=LOAD_TIMEOUT_MS)
    window.list_panel.regroup_now()
    window.compare_actions["layout_1x2"].trigger()
    prior = window.compare.priors[0]
    qtbot.waitUntil(lambda: _showing(prior, patient["older_cr.dcm"]), timeout=LOAD_TIMEOUT_MS)
    own = prior.window
    window.canvas.set_window(Window("Custom", 90.0, 120.0))  # 8-bit DX numbers mean nothing on the 15-bit CR
    assert prior.window == own
    window.canvas.zoom_in()
    window.canvas.view.translateBy(x=60, y=30)
    # Zoom and pan still follow: the same centre, the same share of the height (the films' aspects differ,
    # so the locked aspect widens one of them).
    (px, py, pw, ph), (mx, my, mw, mh) = relative_view(prior), relative_view(window.canvas)
    assert (px + pw / 2, py + ph / 2, ph) == pytest.approx((mx + mw / 2, my + mh / 2, mh), abs=0.02)


def test_a_patient_without_an_earlier_study_says_so(qtbot, window, patient):
    window.open_paths([patient["older_cr.dcm"]], remember=False)
    wait_until_shown(qtbot, window, patient["older_cr.dcm"])
    qtbot.waitUntil(lambda: len(window.list_panel.study_index) == 1, timeout=LOAD_TIMEOUT_MS)
    window.compare_actions["layout_1x2"].trigger()
    assert window.compare.priors[0].image is None
    assert "No earlier study" in window.compare.priors[0].message()
