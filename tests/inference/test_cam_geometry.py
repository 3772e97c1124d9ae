"""The full-resolution map lies on the right anatomy: crop, resize and letterbox undone.

A hand-built model whose target-layer activation is local brightness makes the
correct map known in advance: its peak is the bright square. The test image is
tall (letterboxed left and right), has a uniform frame (cropped away) and the
square sits off-centre, so a mapping that forgot any step misses the square.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from torch import nn

from cxrviewer.io.image import LoadedImage, Window
from cxrviewer.model.cam import CAM_METHODS, explain
from cxrviewer.model.preprocess import PreprocessConfig, preprocess

HEIGHT, WIDTH, FRAME = 900, 500, 40
SQUARE_ROWS, SQUARE_COLS = (600, 700), (360, 440)


class BrightnessModel(nn.Module):
    """Class 0 logit = mean local brightness; its Grad-CAM is the brightness map."""

    def __init__(self) -> None:
        super().__init__()
        self.smooth = nn.Conv2d(1, 1, 9, padding=4, bias=False)
        self.down = nn.AvgPool2d(4)  # the CAM target: a 56 x 56 brightness map
        self.classifier = nn.Linear(1, 2)
        with torch.no_grad():
            self.smooth.weight.fill_(1 / 81)
            self.classifier.weight.copy_(torch.tensor([[1.0], [-1.0]]))
            self.classifier.bias.zero_()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.down(self.smooth(x)).mean(dim=(2, 3)))


def _square_image() -> LoadedImage:
    rng = np.random.default_rng(3)
    pixels = np.full((HEIGHT, WIDTH), 20.0, dtype=np.float32)  # uniform frame: cropped
    pixels[FRAME:-FRAME, FRAME:-FRAME] = rng.uniform(0, 80, (HEIGHT - 2 * FRAME, WIDTH - 2 * FRAME))
    pixels[slice(*SQUARE_ROWS), slice(*SQUARE_COLS)] = 255.0
    window = Window("Default", 127.5, 255.0)
    return LoadedImage(Path("synthetic.png"), "png", pixels, window, (window,), "L", 8)


@pytest.fixture(scope="module")
def setup():
    image = _square_image()
    pre = preprocess(image, PreprocessConfig())
    geometry = pre.geometry
    assert geometry.crop_box == (FRAME, FRAME, WIDTH - FRAME, HEIGHT - FRAME), "the frame must be cropped"
    assert geometry.pad[0] > 0 and geometry.pad[1] == 0, "a tall image is padded left and right"
    return image, pre, BrightnessModel().eval()


def _in_square(row: float, col: float) -> bool:
    return SQUARE_ROWS[0] <= row < SQUARE_ROWS[1] and SQUARE_COLS[0] <= col < SQUARE_COLS[1]


@pytest.mark.parametrize("method", CAM_METHODS)
def test_peak_of_the_full_resolution_map_is_on_the_square(setup, method):
    image, pre, model = setup
    cam = explain(model, pre, model.down, method=method, target=0)
    assert cam.full_map.shape == image.pixels.shape and cam.full_map.dtype == np.float32
    row, col = np.unravel_index(np.argmax(cam.full_map), cam.full_map.shape)
    assert _in_square(row, col), f"peak at {(row, col)}"
    square = np.zeros(image.pixels.shape, dtype=bool)
    square[slice(*SQUARE_ROWS), slice(*SQUARE_COLS)] = True
    body = np.zeros_like(square)
    body[FRAME:-FRAME, FRAME:-FRAME] = True
    # Equalised noise averages to mid-grey, so the rest of the image sits near 0.5.
    assert cam.full_map[square].mean() > cam.full_map[body & ~square].mean() + 0.3


def test_cropped_frame_gets_no_heat_and_values_stay_in_range(setup):
    _, pre, model = setup
    full = explain(model, pre, model.down, target=0).full_map
    assert full.min() >= 0.0 and full.max() <= 1.0
    assert not full[:FRAME].any() and not full[-FRAME:].any()
    assert not full[:, :FRAME].any() and not full[:, -FRAME:].any()


def test_a_plain_resize_of_the_model_map_would_miss_the_square(setup):
    """Guards the test itself: the geometry here is one where skipping the mapping fails."""
    image, pre, model = setup
    model_map = explain(model, pre, model.down, target=0).model_map
    naive = cv2.resize(model_map, (image.width, image.height), interpolation=cv2.INTER_LINEAR)
    row, col = np.unravel_index(np.argmax(naive), naive.shape)
    assert not _in_square(row, col)


def test_target_by_label_equals_target_by_index(setup):
    _, pre, model = setup
    by_index = explain(model, pre, model.down, target=0, labels=("bright", "dark"))
    by_label = explain(model, pre, model.down, target="bright", labels=("bright", "dark"))
    assert by_label.class_index == 0 and by_label.label == "bright"
    np.testing.assert_array_equal(by_index.full_map, by_label.full_map)
    with pytest.raises(ValueError, match="unknown class"):
        explain(model, pre, model.down, target="other", labels=("bright", "dark"))


def test_without_labels_classes_are_named_by_index(setup):
    _, pre, model = setup
    assert explain(model, pre, model.down, target=1).label == "1"
    assert explain(model, pre, model.down).class_index == 0  # the predicted class: brightness > 0
    with pytest.raises(ValueError, match="no labels"):
        explain(model, pre, model.down, target="bright")
