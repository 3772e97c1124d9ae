"""A CAM as a picture: colour-mapped heat map blended over the windowed image (no Qt).

Used by ``cxr predict --cam-dir``. The blend weight follows the map itself, so
regions the model ignored stay plain grey and only its focus is coloured.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from cxrviewer.imaging.windowing import apply_window
from cxrviewer.io.image import LoadedImage
from cxrviewer.atomic_files import atomic_write_bytes

MAX_BLEND = 0.6  # the hottest pixels keep 40 % of the image underneath


def render_overlay(image: LoadedImage, cam: np.ndarray, max_blend: float = MAX_BLEND) -> np.ndarray:
    """BGR uint8 (H, W, 3): the image in its default window with ``cam`` (H, W, [0, 1]) over it."""
    if cam.shape != image.pixels.shape:
        raise ValueError(f"CAM shape {cam.shape} does not match the image {image.pixels.shape}")
    grey = cv2.cvtColor(apply_window(image.pixels, image.window), cv2.COLOR_GRAY2BGR)
    heat = np.clip(cam, 0.0, 1.0)
    colour = cv2.applyColorMap((heat * 255).astype(np.uint8), cv2.COLORMAP_TURBO)
    weight = (heat * max_blend)[..., None]
    blended = grey.astype(np.float32) * (1 - weight) + colour.astype(np.float32) * weight
    return np.clip(blended + 0.5, 0, 255).astype(np.uint8)


def write_png_atomic(path: Path, bgr: np.ndarray) -> None:
    """Encode, write to a temporary file beside ``path``, then rename: no half-written PNGs."""
    ok, encoded = cv2.imencode(".png", bgr)
    if not ok:
        raise OSError(f"could not encode {path.name} as PNG")
    atomic_write_bytes(path, encoded.tobytes())  # ordinary permissions: overlays are meant to be shared
