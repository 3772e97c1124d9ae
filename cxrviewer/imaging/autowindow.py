"""A robust default window for images that carry none."""

from __future__ import annotations

import numpy as np

from .window import Window

AUTO_WINDOW_NAME = "Auto"

# Percentiles of the non-padding pixels the automatic window spans. Clipping 0.5 % at
# each end ignores collimator edges, burned-in labels and dead pixels, which would
# otherwise stretch a min/max window and leave the anatomy flat and grey.
LOW_PERCENTILE = 0.5
HIGH_PERCENTILE = 99.5
_SAMPLE_PIXELS = 1_000_000


def auto_window(pixels: np.ndarray, name: str = AUTO_WINDOW_NAME) -> Window:
    """A window from robust percentiles of the image, ignoring uniform padding."""
    sample = _strided_sample(pixels)
    sample = _without_padding(sample)
    low, high = np.percentile(sample, (LOW_PERCENTILE, HIGH_PERCENTILE))
    low, high = float(low), float(high)
    if high <= low:  # a flat image: any window of width 1 around its value
        return Window(name, low, 1.0)
    return Window(name, (low + high) / 2.0, high - low)


def full_range_window(low: float, high: float, name: str = "Full range") -> Window:
    """A window spanning [low, high]; width at least 1 so it is always valid."""
    return Window(name, (low + high) / 2.0, max(high - low, 1.0))


def _strided_sample(pixels: np.ndarray) -> np.ndarray:
    step = max(1, int(np.sqrt(pixels.size / _SAMPLE_PIXELS)))
    return pixels[::step, ::step].ravel()


def _without_padding(sample: np.ndarray) -> np.ndarray:
    """Drop the exact minimum and maximum values when other values remain.

    Scanners pad the area outside the collimator with one constant (often the
    minimum or maximum); when that border is large it would dominate a percentile.
    """
    lo, hi = sample.min(), sample.max()
    inner = sample[(sample > lo) & (sample < hi)]
    return inner if inner.size >= max(16, sample.size // 100) else sample
