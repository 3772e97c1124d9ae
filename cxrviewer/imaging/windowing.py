"""Display windows: the standard presets and applying a window (no Qt)."""

from __future__ import annotations

import numpy as np

from cxrviewer.io.image import LoadedImage, Window

PRESET_NAMES = ("Default", "Lung", "Mediastinum", "Bone", "Full range")


def _percentiles(pixels: np.ndarray, qs: tuple[float, ...]) -> np.ndarray:
    # A strided sample keeps this fast on 4k x 4k images; exact enough for windows.
    step = max(1, int(np.sqrt(pixels.size / 250_000)))
    return np.percentile(pixels[::step, ::step], qs)


def _span(name: str, low: float, high: float) -> Window:
    return Window(name, (low + high) / 2.0, max(high - low, 1e-3))


def standard_presets(image: LoadedImage) -> tuple[Window, ...]:
    """Five windows in PRESET_NAMES order (keys 1-5 in the viewer).

    Projection radiographs have no Hounsfield scale, so lung, mediastinum and
    bone are placed on the image's own histogram: lung spans the darker
    two thirds, mediastinum the brighter half, bone the brightest tail with
    high contrast.
    """
    lo, p2, p40, p50, p70, p99, p998, hi = _percentiles(
        image.pixels, (0, 2, 40, 50, 70, 99, 99.8, 100)
    )
    default = Window("Default", image.window.center, image.window.width)
    return (
        default,
        _span("Lung", p2, p70),
        _span("Mediastinum", p40, p998),
        _span("Bone", p50 + 0.5 * (p99 - p50), p998),
        _span("Full range", lo, hi),
    )


# Rows per step: the float temporaries of one band stay a few tens of MB, so windowing
# a 16384-px film costs its uint8 result and not five float32 copies of it.
WINDOW_BAND_ROWS = 512


def apply_window(pixels: np.ndarray, window: Window, invert: bool = False) -> np.ndarray:
    """Map pixels through a linear window to uint8 (0 black, 255 white)."""
    out = np.empty(pixels.shape, dtype=np.uint8)
    low, gain = np.float32(window.low), np.float32(255.0 / window.width)
    for start in range(0, pixels.shape[0], WINDOW_BAND_ROWS):
        rows = slice(start, start + WINDOW_BAND_ROWS)
        scaled = (pixels[rows].astype(np.float32) - low) * gain
        out[rows] = np.clip(scaled, 0, 255).astype(np.uint8)
    if invert:
        np.subtract(255, out, out=out)
    return out
