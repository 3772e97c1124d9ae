"""From raw CAM maps to what is shown: normalised, at model resolution and on the full image (no torch).

Shared by the torch Grad-CAM pass (cam.py) and the ONNX Runtime engine, so both give
the same maps from the same raw values.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from .preprocess import Geometry

Target = int | str | None


@dataclass(frozen=True, eq=False)
class MapBatch:
    """The maps of one pass (cam.CamBatch carries the same two fields, and the logits)."""

    class_indices: tuple[int, ...]  # the class each map explains
    maps: np.ndarray  # float32 (N, S, S) in [0, 1] at model-input resolution


@dataclass(frozen=True, eq=False)
class CamResult:
    """The map of one image, at model resolution and on the full image."""

    method: str
    class_index: int
    label: str
    model_map: np.ndarray  # float32 (S, S) in [0, 1]
    full_map: np.ndarray  # float32 (H, W) in [0, 1], aligned with LoadedImage.pixels


def resolve_target(target: Target, labels: Sequence[str]) -> int | None:
    """None -> None (predicted class); a label or an index -> a checked class index."""
    if target is None:
        return None
    if isinstance(target, str):
        if target not in labels:
            raise ValueError(f"unknown class {target!r}; this model has: {', '.join(labels)}")
        return list(labels).index(target)
    index = int(target)
    if not 0 <= index < len(labels):
        raise ValueError(f"class index {index} is out of range for {len(labels)} classes")
    return index


def map_to_full_resolution(model_map: np.ndarray, geometry: Geometry) -> np.ndarray:
    """Model-input map -> float32 map of the source image's shape (crop, resize, padding undone)."""
    full = geometry.map_to_source(model_map)  # float32, source-sized: clipped in place, not copied
    return np.clip(full, 0.0, 1.0, out=full)


def cam_result(batch: MapBatch, i: int, method: str, labels: Sequence[str], geometry: Geometry) -> CamResult:
    index = batch.class_indices[i]
    return CamResult(
        method=method,
        class_index=index,
        label=labels[index],
        model_map=batch.maps[i],
        full_map=map_to_full_resolution(batch.maps[i], geometry),
    )


def normalise_and_resize(raw: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Raw maps (N, h, w), ReLU already applied -> float32 (N, S, S) in [0, 1]."""
    maps = np.asarray(raw, dtype=np.float32)
    flat = maps.reshape(len(maps), -1)
    maps = maps - flat.min(axis=1)[:, None, None]  # min-max, as pytorch_grad_cam does
    maps = maps / (maps.reshape(len(maps), -1).max(axis=1)[:, None, None] + np.float32(1e-7))
    height, width = size
    resized = [cv2.resize(m, (width, height), interpolation=cv2.INTER_LINEAR) for m in maps]
    return np.clip(np.stack(resized), 0.0, 1.0).astype(np.float32)
