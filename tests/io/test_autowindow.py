"""The automatic window for files that carry none."""

from __future__ import annotations

import numpy as np

from cxrviewer.imaging.autowindow import auto_window


def test_padding_does_not_set_the_window():
    """Half the image is collimator padding at 0: the window must fit the anatomy."""
    anatomy = np.linspace(1000, 3000, 100 * 50, dtype=np.float32).reshape(100, 50)
    image = np.hstack([np.zeros((100, 50), np.float32), anatomy])
    window = auto_window(image)
    assert 990 <= window.low <= 1030 and 2970 <= window.high <= 3010


def test_outliers_are_clipped():
    image = np.full((100, 100), 500, np.float32)
    image[:, :50] = np.linspace(400, 600, 50)
    image[0, 0], image[0, 1] = -30000, 30000
    window = auto_window(image)
    assert window.low >= 400 and window.high <= 600


def test_flat_image_gets_a_valid_window():
    window = auto_window(np.full((10, 10), 7, np.float32))
    assert window.width > 0 and window.low <= 7 <= window.high
