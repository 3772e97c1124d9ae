"""The one heat-map renderer: probability weighting, transparency, and the colours of the LUT."""

from __future__ import annotations

import numpy as np

from cxrviewer.imaging.heatmap import (
    TRANSPARENT_BELOW,
    cam_to_u8,
    compose_rgb,
    heat_lut,
    legend_strip,
    render_overlay,
)


def _peak(shape) -> np.ndarray:
    yy, xx = np.mgrid[: shape[0], : shape[1]]
    return np.exp(-((yy - shape[0] / 2) ** 2 + (xx - shape[1] / 3) ** 2) / (2 * 40.0**2)).astype(np.float32)


def test_a_class_at_one_percent_leaves_no_colour_and_a_sure_one_does(chest_image):
    cam = _peak(chest_image.pixels.shape)
    plain = compose_rgb(chest_image, chest_image.window, False)
    assert np.array_equal(render_overlay(chest_image, cam, strength=0.01), plain)
    sure = render_overlay(chest_image, cam, strength=0.99)
    changed = np.any(sure != plain, axis=2)
    assert changed.mean() > 0.01 and not changed[0, 0]  # the peak is coloured, the far corner is not


def test_weak_map_values_are_transparent_and_the_lut_runs_blue_to_red():
    lut = heat_lut()
    assert lut.shape == (256, 4) and lut.dtype == np.uint8
    assert np.all(lut[: int(TRANSPARENT_BELOW * 255), 3] == 0) and lut[255, 3] == 255
    assert lut[64, 2] > lut[64, 0] and lut[250, 0] > lut[250, 2]  # blue at the weak end, red at the strong end
    assert np.array_equal(legend_strip(256, 4)[0], lut)
    assert cam_to_u8(np.array([1.0]), 0.5)[0] == 128
