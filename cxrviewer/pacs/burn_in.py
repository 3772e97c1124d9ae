"""The reading written above the heat-map overlay, for the Secondary Capture (no Qt: OpenCV text).

A caption strip is added on top rather than drawn over the film, so no anatomy is
hidden. ASCII only: OpenCV's Hershey fonts have no other glyphs. No patient data.
"""

from __future__ import annotations

from collections.abc import Mapping

import cv2
import numpy as np

from cxrviewer.imaging.heatmap import LEGEND_TEXT

from .model_identity import ModelIdentity
from .results_dicom import DISCLAIMER

FONT = cv2.FONT_HERSHEY_SIMPLEX
MAX_SIDE = 4096  # a Secondary Capture bigger than this is scaled down: it is for viewing, not measuring


def reading_lines(record: Mapping, model: ModelIdentity) -> list[str]:
    probabilities = ", ".join(f"{label} {100 * p:.0f}%" for label, p in record["probabilities"].items()
                              if p is not None)
    flags = []
    if record.get("uncertain"):
        flags.append("UNCERTAIN")
    if (record.get("ood") or {}).get("flag"):
        flags.append("UNLIKE THE TRAINING IMAGES (OOD)")
    headline = f"AI reading: {record['label']} {100 * record['confidence']:.0f}%"
    return [f"{DISCLAIMER.rstrip('.').upper()}",
            " ".join([headline, *(f"[{f}]" for f in flags)]),
            probabilities,
            f"Model {model.name} ({model.architecture}), version {model.version}",
            LEGEND_TEXT.split(". ")[0] + "."]


def with_caption(rgb: np.ndarray, lines: list[str]) -> np.ndarray:
    """``rgb`` (H, W, 3 uint8), scaled to at most MAX_SIDE, below a black strip holding ``lines``."""
    rgb = _bounded(rgb)
    width = rgb.shape[1]
    scale = _font_scale(lines, width)
    thickness = max(1, round(scale * 2))
    line_height = int(cv2.getTextSize("Ag", FONT, scale, thickness)[0][1] * 1.9) + 2
    strip = np.zeros((line_height * len(lines) + line_height // 2, width, 3), dtype=np.uint8)
    for i, line in enumerate(lines):
        colour = (255, 210, 0) if i == 0 else (235, 235, 235)  # the disclaimer stands out
        cv2.putText(strip, line, (line_height // 3, line_height * (i + 1)), FONT, scale, colour, thickness,
                    cv2.LINE_AA)
    return np.concatenate([strip, rgb], axis=0)


def _font_scale(lines: list[str], width: int) -> float:
    """The largest scale (up to one that suits the film's size) at which the longest line fits."""
    scale = max(0.4, width / 1400)
    longest = max(lines, key=len)
    text_width = cv2.getTextSize(longest, FONT, scale, max(1, round(scale * 2)))[0][0]
    usable = width * 0.96
    return scale if text_width <= usable else max(0.3, scale * usable / text_width)


def _bounded(rgb: np.ndarray) -> np.ndarray:
    height, width = rgb.shape[:2]
    factor = MAX_SIDE / max(height, width)
    if factor >= 1:
        return rgb
    size = (max(1, round(width * factor)), max(1, round(height * factor)))
    return cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)
