"""The VOI transforms of DICOM PS3.3 C.11.2: values to grey levels through a window or a VOI LUT.

The formulas are pydicom's ``apply_windowing`` / ``apply_voi`` (LINEAR with its
centre-0.5 / width-1, LINEAR_EXACT, SIGMOID; LUT inputs clipped to the table), scaled
to 0..255 for the screen instead of to the file's bit depth. The same transform feeds
the canvas (as a lookup table pyqtgraph applies at screen resolution, ``display_table``)
and every full-resolution rendering (``windowing.apply_window``), so the screen and an
export agree to a grey level.
"""

from __future__ import annotations

import numpy as np

from .window import LINEAR, SIGMOID, VoiLut, Window

# A sigmoid is within 0.1 grey level of black/white beyond two widths from its centre
# (1 / (1 + e^8) * 255 = 0.09), so its table spans centre +- 2 widths; 4096 entries put a
# step of a thousandth of the width between neighbours, below what a display shows.
SIGMOID_SPAN_WIDTHS = 2.0
SIGMOID_TABLE = 4096
LINEAR_TABLE = 256
_STEP_HALF_SPAN = 0.5  # a LINEAR window of width 1 (or less) is a step at centre - 0.5
_MIN_WIDTH = 1e-12  # narrower is a step: its reciprocal still fits a float32


def fraction(values: np.ndarray, window: Window) -> np.ndarray:
    """float32 in [0, 1] (0 black, 1 white, before any inversion) for each value."""
    v = np.asarray(values, dtype=np.float32)
    if window.lut is not None:
        return _through_lut(v, window.lut)
    # Overflow here only means far beyond the window's edge, which saturates anyway
    # (a header may carry a width of 1e-30).
    with np.errstate(over="ignore"):
        if window.function == SIGMOID:
            slope = np.float32(-4.0 / max(window.width, _MIN_WIDTH))
            return np.float32(1.0) / (np.float32(1.0) + np.exp((v - np.float32(window.center)) * slope))
        low, high = linear_edges(window)
        if high - low < _MIN_WIDTH:  # LINEAR of width 1: all or nothing
            return (v > np.float32(low)).astype(np.float32)
        scaled = (v - np.float32(low)) * np.float32(1.0 / (high - low))
    return np.clip(scaled, 0.0, 1.0, out=scaled)


def linear_edges(window: Window) -> tuple[float, float]:
    """Where a LINEAR or LINEAR_EXACT window leaves black and reaches white."""
    if window.function == LINEAR:
        center, width = window.center - 0.5, max(window.width - 1.0, 0.0)
    else:
        center, width = window.center, window.width
    return center - width / 2.0, center + width / 2.0


def _through_lut(values: np.ndarray, lut: VoiLut) -> np.ndarray:
    # floor, as pydicom's integer cast of (value - first) does for the inputs it maps
    index = np.floor(values - np.float32(lut.first))
    np.clip(index, 0, lut.entries.size - 1, out=index)
    table = (lut.entries / lut.out_max).astype(np.float32)
    return table[index.astype(np.intp)]


def to_grey(frac: np.ndarray, invert: bool = False) -> np.ndarray:
    """[0, 1] to uint8 grey levels, rounded; ``invert`` shows low values white."""
    grey = np.rint(frac * np.float32(255.0)).astype(np.uint8)
    if invert:
        np.subtract(255, grey, out=grey)
    return grey


def display_table(window: Window, invert: bool = False) -> tuple[tuple[float, float], np.ndarray]:
    """(levels, lut) for an image item that maps value v to ``lut[(v - lo) * n / (hi - lo)]``
    (clipped to the table): pyqtgraph's ImageItem with setLevels/setLookupTable.

    Each entry is the transform at the middle of its input interval; for a VOI LUT the
    intervals are the LUT's own inputs, so the screen shows its entries exactly.
    """
    low, high, size = _table_domain(window)
    centres = low + (np.arange(size, dtype=np.float64) + 0.5) * ((high - low) / size)
    return (low, high), to_grey(fraction(centres, window), invert)


def _table_domain(window: Window) -> tuple[float, float, int]:
    if window.lut is not None:
        return float(window.lut.first), float(window.lut.first + window.lut.entries.size), window.lut.entries.size
    if window.function == SIGMOID:
        span = SIGMOID_SPAN_WIDTHS * window.width
        return window.center - span, window.center + span, SIGMOID_TABLE
    low, high = linear_edges(window)
    if high - low < _MIN_WIDTH:
        return low - _STEP_HALF_SPAN, low + _STEP_HALF_SPAN, LINEAR_TABLE
    return low, high, LINEAR_TABLE


def lut_span(lut: VoiLut) -> tuple[float, float] | None:
    """The input interval over which a VOI LUT rises from its lowest to its highest output:
    the straight window closest to it (for the W/L readout and as a drag's start).
    None for a flat LUT, which shows nothing."""
    out = lut.entries
    low_out, high_out = out.min(), out.max()
    if high_out <= low_out:
        return None
    inputs = np.arange(lut.first, lut.first + out.size, dtype=np.float64)
    rising = np.flatnonzero((out > low_out) & (out < high_out))
    if rising.size == 0:  # a step: the window sits on the step
        step = int(np.flatnonzero(out >= high_out)[0])
        return float(inputs[max(step - 1, 0)]), float(inputs[step])
    return float(inputs[max(rising[0] - 1, 0)]), float(inputs[min(rising[-1] + 1, out.size - 1)])
