"""The VOI transforms against pydicom's, and the canvas's lookup table against a full render."""

from __future__ import annotations

import numpy as np
import pytest
from pydicom.dataset import Dataset
from pydicom.pixels import apply_windowing

from cxrviewer.imaging.voi import display_table, fraction
from cxrviewer.imaging.window import VoiLut, Window
from cxrviewer.imaging.windowing import apply_window

VALUES = np.arange(-500, 5000, 0.25, dtype=np.float32)[None]  # fractions too: rescaled data has them


def _pydicom(function: str, center: float, width: float) -> np.ndarray:
    ds = Dataset()
    ds.PhotometricInterpretation, ds.PixelRepresentation, ds.BitsStored = "MONOCHROME2", 0, 12
    ds.WindowCenter, ds.WindowWidth, ds.VOILUTFunction = center, width, function
    with np.errstate(over="ignore"):  # pydicom's own sigmoid, far below a narrow window
        return apply_windowing(VALUES.astype(np.float64), ds) / 4095.0


@pytest.mark.parametrize("function", ["LINEAR", "LINEAR_EXACT", "SIGMOID"])
@pytest.mark.parametrize(("center", "width"), [(1500, 1200), (2047.5, 4096), (10, 1)])
def test_each_function_is_pydicoms(function, center, width):
    ours = fraction(VALUES, Window("w", center, width, function))
    np.testing.assert_allclose(ours, _pydicom(function, center, width), atol=1e-5)


def _as_pyqtgraph_draws(values: np.ndarray, window: Window) -> np.ndarray:
    """pyqtgraph's float path: index = (v - lo) * n / (hi - lo), clipped, then the table."""
    (low, high), lut = display_table(window)
    index = np.clip((values.astype(np.float64) - low) * (lut.size / (high - low)), 0, lut.size - 1)
    return lut[index.astype(int)]


@pytest.mark.parametrize("window", [
    Window("linear", 1500, 1200, "LINEAR"),
    Window("exact", 1500, 1200),
    Window("sigmoid", 1500, 1200, "SIGMOID"),
    Window("lut", 2000, 3000, lut=VoiLut(500, np.round(np.linspace(0, 1, 3000) ** 0.5 * 4095), 12)),
], ids=lambda w: w.name)
def test_the_screen_table_draws_what_a_full_render_gives(window):
    drawn = _as_pyqtgraph_draws(VALUES, window).astype(int)
    assert np.abs(drawn - apply_window(VALUES, window)).max() <= 1


def test_a_voi_lut_maps_entry_by_entry_and_clips_outside():
    lut = VoiLut(first=-2, entries=np.array([0.0, 10.0, 255.0, 40.0]), bits=8)
    frac = fraction(np.array([-10, -2, -1, -0.5, 0, 1, 99], np.float32), Window("l", 0, 4, lut=lut))
    np.testing.assert_allclose(frac * 255, [0, 0, 10, 10, 255, 40, 40], atol=1e-4)


def test_degenerate_widths_stay_finite():
    values = np.array([-3e38, 0, 1, 3e38], np.float32)
    for function in ("LINEAR", "LINEAR_EXACT", "SIGMOID"):
        for width in (1e-30, 0.5, 1e30):
            assert np.isfinite(fraction(values, Window("w", 1.0, width, function))).all()
