"""Small previews for the image list: made in the loader thread, turned into icons on the UI thread."""

from __future__ import annotations

import numpy as np
from PySide6.QtGui import QIcon, QImage, QPixmap

from cxrviewer.imaging.windowing import apply_window, shown_inverted
from cxrviewer.io import LoadedImage

THUMBNAIL_SIDE = 96


def make_thumbnail(image: LoadedImage, side: int = THUMBNAIL_SIDE) -> np.ndarray:
    """A uint8 preview no larger than side x side, in the image's default window.

    Block-averaging (not striding) keeps fine texture from aliasing into moiré.
    """
    pixels = image.pixels
    factor = max(1, int(np.ceil(max(pixels.shape) / side)))
    h, w = (pixels.shape[0] // factor) * factor, (pixels.shape[1] // factor) * factor
    if factor > 1 and h and w:
        pixels = pixels[:h, :w].reshape(h // factor, factor, w // factor, factor).mean(axis=(1, 3))
    return np.ascontiguousarray(apply_window(pixels, image.window, shown_inverted(image)))


def thumbnail_icon(thumbnail: np.ndarray) -> QIcon:
    h, w = thumbnail.shape
    qimage = QImage(thumbnail.data, w, h, w, QImage.Format.Format_Grayscale8).copy()
    return QIcon(QPixmap.fromImage(qimage))
