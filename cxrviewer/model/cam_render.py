"""``cxr predict --cam-dir`` PNGs: the shared heat-map renderer's output, written atomically (no Qt)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from cxrviewer.atomic_files import atomic_write_bytes


def write_png_atomic(path: Path, rgb: np.ndarray) -> None:
    """Encode RGB (H, W, 3) or grey (H, W) uint8, write to a temp file beside ``path``, then rename."""
    pixels = cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR) if rgb.ndim == 3 else rgb
    ok, encoded = cv2.imencode(".png", pixels)
    if not ok:
        raise OSError(f"could not encode {path.name} as PNG")
    atomic_write_bytes(path, encoded.tobytes())  # ordinary permissions: overlays are meant to be shared
