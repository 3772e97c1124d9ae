"""The lung outline and the 'attention outside the lungs' caution, driven by a real drawn lung mask."""

from __future__ import annotations

import csv
from pathlib import Path

import cv2
import numpy as np
import pytest

from cxrviewer.inference.lung_outline import outlines
from cxrviewer.inference.requests import CAM_OUTSIDE_LUNGS_CAUTION, InferenceResult, LungReading
from cxrviewer.model.lung_fields import mass_inside
from tests.data_root import data_root

LUNGS = data_root() / "lungs"  # the full set, else the fixture set (tests/data_root.py)


@pytest.fixture(scope="module")
def lung_mask() -> np.ndarray:
    with open(LUNGS / "labels.csv", newline="") as fh:
        row = next(r for r in csv.DictReader(fh) if r["split"] == "test")
    return cv2.imread(str(LUNGS / row["lung_mask"]), cv2.IMREAD_GRAYSCALE) > 127


def _blob(shape, centre) -> np.ndarray:
    yy, xx = np.mgrid[: shape[0], : shape[1]]
    return np.exp(-((yy - centre[0]) ** 2 + (xx - centre[1]) ** 2) / (2 * 12.0**2)).astype(np.float32)


def _result(mask: np.ndarray, cam: np.ndarray) -> InferenceResult:
    lungs = LungReading(found=True, area_fraction=float(mask.mean()), reason="", mask=mask,
                        outlines=outlines(mask), cam_in_lungs=mass_inside(cam, mask))
    return InferenceResult(request_id=1, path=Path("x.png"), probabilities={"normal": 0.1, "pneumonia": 0.8, "covid": 0.1},
                           label="pneumonia", confidence=0.8, uncertain=False, ood_score=1.0, ood_flag=False, cam=cam,
                           cam_method="gradcam", cam_label="pneumonia", timings={}, lungs=lungs)


def test_a_map_outside_the_lungs_is_cautioned_and_one_inside_is_not(qtbot, lung_mask):
    from cxrviewer.gui.results_pane import ResultsPane

    pane = ResultsPane()
    qtbot.addWidget(pane)
    pane.set_model("m", "", ("normal", "pneumonia", "covid"), has_card=False)
    pane.show()
    ys, xs = np.nonzero(lung_mask)
    inside = _result(lung_mask, _blob(lung_mask.shape, (int(np.median(ys)), int(np.median(xs[xs < 128])))))
    outside = _result(lung_mask, _blob(lung_mask.shape, (8, 8)))  # the corner: a label or a shoulder
    assert inside.lungs.cam_in_lungs > 0.8 > 0.2 > outside.lungs.cam_in_lungs

    pane.show_result(outside, 0.6)
    assert pane.attention_warning.isVisible() and CAM_OUTSIDE_LUNGS_CAUTION in pane.attention_warning.text()
    assert "of the heat map lies inside them" in pane.lung_status.text()
    pane.show_result(inside, 0.6)
    assert not pane.attention_warning.isVisible()
    assert pane.legend.isVisible() and "80%" in pane.legend.caption.text()  # drawn at the class probability
    assert "1 %" in pane.legend.caption.toolTip()


def test_the_outline_follows_the_mask_and_l_toggles_it(qtbot, window, lung_mask, tmp_path):
    from cxrviewer.io import load_image

    image_path = tmp_path / "film.png"
    cv2.imwrite(str(image_path), np.where(lung_mask, 60, 200).astype(np.uint8))
    window.canvas.set_image(load_image(image_path))
    window.canvas.lungs.set_outlines(outlines(lung_mask))
    assert window.canvas.lungs.is_showing()
    xs, ys = window.canvas.lungs.item.getData()
    finite = np.isfinite(xs)
    inside = lung_mask.shape[1] >= xs[finite].max() and xs[finite].min() >= 0 and ys[finite].max() <= lung_mask.shape[0]
    assert inside and np.isnan(xs).sum() == len(outlines(lung_mask))  # one gap after each polygon
    window.ai.toggle_lungs()
    assert not window.canvas.lungs.is_showing()
    window.ai.toggle_lungs()
    assert window.canvas.lungs.is_showing()
