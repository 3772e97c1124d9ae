"""``cxr predict`` PNGs (heat-map overlays, lung masks), streamed band by band and written atomically (no Qt).

The overlay comes from the shared heat-map renderer, so it matches the viewer's
export pixel for pixel. Nothing full-size beyond the map itself is allocated: a
16384-px film's overlay would be 800 MB as one array.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from cxrviewer.atomic_files import atomic_writer
from cxrviewer.imaging.heatmap import STREAM_BAND_ROWS, overlay_bands
from cxrviewer.imaging.png_stream import write_png_bands
from cxrviewer.io.image import LoadedImage


def write_overlay_png(path: Path, image: LoadedImage, cam: np.ndarray, strength: float) -> None:
    """The image in its default window with ``cam`` over it, as ``cxr predict --cam-dir`` writes it."""
    height, width = cam.shape
    with atomic_writer(path) as fh:  # ordinary permissions: overlays are meant to be shared
        write_png_bands(fh, height, width, 3, overlay_bands(image, cam, strength))


def write_mask_png(path: Path, mask: np.ndarray) -> None:
    """A boolean mask as an 8-bit PNG, 255 inside."""
    height, width = mask.shape
    bands = (np.where(mask[start:start + STREAM_BAND_ROWS], np.uint8(255), np.uint8(0))
             for start in range(0, height, STREAM_BAND_ROWS))
    with atomic_writer(path) as fh:
        write_png_bands(fh, height, width, 1, bands)
