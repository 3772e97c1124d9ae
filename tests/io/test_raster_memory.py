"""Colour PNG/JPEG to grey without a float copy of every channel.

That copy (12-16 bytes a pixel) made a 164-megapixel colour PNG, which the loader
accepts, take longer than the decoder's 30 s time-out (found by benchmarks/fuzz_loader.py).
numpy's allocations are traced by tracemalloc, Pillow's are not: the peak counts the
arrays the loader makes on top of the decoded image.
"""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest
from PIL import Image

from cxrviewer.io import load_image

_LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)


@pytest.mark.parametrize("mode", ["RGB", "RGBA"])
def test_colour_png_to_grey_makes_at_most_three_grey_sized_arrays(tmp_path, mode):
    rgb = np.random.default_rng(0).integers(0, 256, (1000, 1500, 3), dtype=np.uint8)
    image = Image.fromarray(rgb)
    if mode == "RGBA":
        image.putalpha(128)
    path = tmp_path / f"{mode}.png"
    image.save(path)
    tracemalloc.start()
    try:
        loaded = load_image(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak <= 3 * loaded.pixels.nbytes  # was 4x (RGB) and 6x (RGBA)
    expected = rgb.astype(np.float32) @ _LUMA * (128 / 255 if mode == "RGBA" else 1)
    np.testing.assert_allclose(loaded.pixels, expected, atol=1e-3)
