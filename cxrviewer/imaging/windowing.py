"""Display windows: the standard presets, rendering through a window, and the model's own view (no Qt).

Values stay on the file's scale; which way round grey runs is a separate flag
(``LoadedImage.display_inverted`` for MONOCHROME1 and INVERSE files, combined with the
reader's invert toggle by ``shown_inverted``), applied after the window as DICOM orders.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from cxrviewer.io.image import LoadedImage

from .voi import fraction, to_grey
from .window import Window

PRESET_NAMES = ("Default", "Lung", "Mediastinum", "Bone", "Full range")

# Rows per step: the float temporaries of one band stay a few tens of MB, so windowing
# a 16384-px film costs its uint8 result and not five float32 copies of it.
WINDOW_BAND_ROWS = 512


def shown_inverted(image: LoadedImage, reader_inverted: bool = False) -> bool:
    """True when low values are drawn white: the file asks for it (MONOCHROME1) or the
    reader pressed invert, not both."""
    return image.display_inverted != reader_inverted


def apply_window(pixels: np.ndarray, window: Window, invert: bool = False) -> np.ndarray:
    """Map pixels through a window (its VOI function or LUT) to uint8 (0 black, 255 white)."""
    out = np.empty(pixels.shape, dtype=np.uint8)
    for start in range(0, pixels.shape[0], WINDOW_BAND_ROWS):
        rows = slice(start, start + WINDOW_BAND_ROWS)
        out[rows] = to_grey(fraction(pixels[rows], window), invert)
    return out


def render(image: LoadedImage, window: Window | None = None, reader_inverted: bool = False) -> np.ndarray:
    """The image as the viewer shows it: uint8, bone white on a normally presented film."""
    return apply_window(image.pixels, window or image.window, shown_inverted(image, reader_inverted))


def model_grey(image: LoadedImage) -> np.ndarray:
    """uint8: what the AI models are fed, before their crop and resize. Do not change it.

    Every shipped model was trained on exactly this: the default window's centre and
    width as a straight line from low to high (truncated to a grey level), whatever VOI
    function or LUT the file names for display, and bone bright: a MONOCHROME1 film is
    inverted here, in value space (high - v), which gives the very grey levels the
    models learnt from.
    """
    window = image.window
    gain = np.float32(255.0 / window.width)
    invert = image.display_inverted
    edge = np.float32(window.high if invert else window.low)
    out = np.empty(image.pixels.shape, dtype=np.uint8)
    for start in range(0, out.shape[0], WINDOW_BAND_ROWS):
        rows = slice(start, start + WINDOW_BAND_ROWS)
        band = image.pixels[rows].astype(np.float32)
        scaled = (edge - band if invert else band - edge) * gain
        out[rows] = np.clip(scaled, 0, 255).astype(np.uint8)
    return out


def _percentiles(pixels: np.ndarray, qs: tuple[float, ...]) -> np.ndarray:
    # A strided sample keeps this fast on 4k x 4k images; exact enough for windows.
    step = max(1, int(np.sqrt(pixels.size / 250_000)))
    return np.percentile(pixels[::step, ::step], qs)


def _span(name: str, low: float, high: float) -> Window:
    low, high = min(low, high), max(low, high)
    return Window(name, (low + high) / 2.0, max(high - low, 1e-3))


def standard_presets(image: LoadedImage) -> tuple[Window, ...]:
    """Five windows in PRESET_NAMES order (keys 1-5 in the viewer).

    Projection radiographs have no Hounsfield scale, so lung, mediastinum and
    bone are placed on the image's own histogram of brightness: lung spans the
    darker two thirds, mediastinum the brighter half, bone the brightest tail with
    high contrast. On a film shown inverted (MONOCHROME1) bright means low values,
    so the brightness percentile q is the value percentile 100 - q.
    """
    qs = (0, 2, 40, 50, 70, 99, 99.8, 100)
    if image.display_inverted:
        qs = tuple(100 - q for q in qs)
    lo, p2, p40, p50, p70, p99, p998, hi = _percentiles(image.pixels, qs)
    # The file's own default keeps its VOI function or LUT.
    default = dataclasses.replace(image.window, name="Default")
    return (
        default,
        _span("Lung", p2, p70),
        _span("Mediastinum", p40, p998),
        _span("Bone", p50 + 0.5 * (p99 - p50), p998),
        _span("Full range", lo, hi),
    )
