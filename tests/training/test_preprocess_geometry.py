"""The shared preprocessing: border crop, letterbox and a geometry record that maps back."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from cxrviewer.io import LoadedImage, Window, load_image
from cxrviewer.model.preprocess import PreprocessConfig, find_content_box, preprocess


def _image(pixels: np.ndarray) -> LoadedImage:
    window = Window("Default", 127.5, 255.0)
    return LoadedImage(Path("synthetic.png"), "png", pixels.astype(np.float32), window, (window,), "L", 8)


def _bordered_image(height=300, width=500, spot=(340, 90)) -> np.ndarray:
    rng = np.random.default_rng(0)
    pixels = np.zeros((height, width), np.float32)  # black frame: a border to crop
    pixels[20:280, 60:470] = rng.uniform(60, 140, (260, 410))
    x, y = spot
    pixels[y - 3 : y + 4, x - 3 : x + 4] = 255.0
    return pixels


def test_point_maps_back_to_the_source_pixel():
    image = _image(_bordered_image(spot=(340, 90)))
    result = preprocess(image, PreprocessConfig(input_size=128, intensity="none"))
    geometry = result.geometry
    assert result.array.shape == (1, 128, 128) and result.array.dtype == np.float32
    assert geometry.crop_box == (60, 20, 470, 280)
    model_y, model_x = np.unravel_index(np.argmax(result.array[0]), (128, 128))
    source_x, source_y = geometry.to_source(model_x + 0.5, model_y + 0.5)
    # one model pixel covers 410/128 ~ 3.2 source pixels
    assert abs(source_x - 340.5) <= 3.5 and abs(source_y - 90.5) <= 3.5
    back = geometry.to_model(*geometry.to_source(10.0, 20.0))
    assert back == pytest.approx((10.0, 20.0))


def test_letterbox_padding_is_recorded_and_empty():
    image = _image(_bordered_image())
    result = preprocess(image, PreprocessConfig(input_size=128, intensity="equalize"))
    x0, y0, x1, y1 = result.geometry.content_box
    assert (x0, x1) == (0, 128) and y0 > 0 and y1 < 128  # wide image: bars top and bottom
    assert result.array[0, :y0].max() == 0.0 and result.array[0, y1:].max() == 0.0


def test_heatmap_maps_onto_the_full_image():
    image = _image(_bordered_image(spot=(340, 90)))
    geometry = preprocess(image, PreprocessConfig(input_size=128)).geometry
    heat = np.zeros((128, 128), np.float32)
    mx, my = geometry.to_model(340, 90)
    heat[int(my) - 2 : int(my) + 3, int(mx) - 2 : int(mx) + 3] = 1.0
    full = geometry.map_to_source(heat)
    assert full.shape == (300, 500)
    peak_y, peak_x = np.unravel_index(np.argmax(full), full.shape)
    assert abs(peak_x - 340) <= 8 and abs(peak_y - 90) <= 8
    assert full[:20].max() == 0.0  # cropped border gets nothing


def test_uniform_image_is_not_cropped_away():
    assert find_content_box(np.full((50, 80), 30, np.uint8)) == (0, 0, 80, 50)


@pytest.mark.parametrize("intensity", ["equalize", "clahe", "percentile", "none"])
def test_real_dicom_and_jpeg_preprocess_to_the_same_format(dicom_files, cxr3_dir, intensity):
    config = PreprocessConfig(input_size=96, intensity=intensity)
    jpeg = next((cxr3_dir / "images").rglob("*.jpg"))
    for path in (dicom_files[0], jpeg):
        result = preprocess(load_image(path), config)
        assert result.array.shape == (1, 96, 96)
        assert 0.0 <= result.array.min() and result.array.max() <= 1.0
        assert result.array.std() > 0.05  # real content, not a blank canvas
