"""Lung-field (and infection) masks of every training image, for the CAM losses.

``--cam-lung-weight`` teaches the classifier to put its Grad-CAM evidence inside the lung
fields, ``--cam-infection-weight`` inside a drawn infected region. The masks come from
the manifest's ``lung_mask`` / ``infection_mask`` columns where a row has them (drawn by a
reader), else, for the lungs, from the lung model. They are kept small and on the
image's own normalised grid (``MASK_SIDE`` squared, whatever the film's aspect), so one
cache serves every preprocessing and augmentation: each view carries them onto its
model grid (``on_model_grid``) through the geometry its image took.

Segmenting 12,000 images takes minutes on a CPU: the masks are cached in one file keyed
by the lung model's hash, written atomically every few thousand images (a killed run
resumes where it stopped).
"""

from __future__ import annotations

import io
import logging
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np

from cxrviewer.atomic_files import atomic_write_bytes
from cxrviewer.io import load_image
from cxrviewer.model.preprocess import Geometry

from .data import Sample

log = logging.getLogger("training")

MASK_SIDE = 128  # a 56-px loss grid never needs more
SAVE_EVERY = 2000
LUNG, INFECTION = 0, 1


def training_masks(samples: Sequence[Sample], segmenter, cache_file: Path) -> dict[str, np.ndarray]:
    """path -> uint8 (2, MASK_SIDE, MASK_SIDE) masks (lungs, infection; 0 or 255; all 0 where unknown)."""
    cache = _read(cache_file, segmenter.weights_sha256 if segmenter is not None else "drawn")
    todo = [s for s in samples if str(s.path) not in cache]
    if todo:
        log.info("finding the lung fields of %d images for the CAM loss (cached in %s)", len(todo), cache_file.name)
    for done, sample in enumerate(todo, 1):
        cache[str(sample.path)] = _masks_of(sample, segmenter)
        if done % SAVE_EVERY == 0 or done == len(todo):
            _write(cache_file, segmenter.weights_sha256 if segmenter is not None else "drawn", cache)
            log.info("lung masks: %d/%d images", done, len(todo))
    masks = {str(s.path): cache[str(s.path)] for s in samples}
    without = sum(not m[LUNG].any() for m in masks.values())
    if without:
        log.info("no lung fields for %d of %d images: the CAM loss leaves those out", without, len(samples))
    return masks


def _masks_of(sample: Sample, segmenter) -> np.ndarray:
    out = np.zeros((2, MASK_SIDE, MASK_SIDE), dtype=np.uint8)
    drawn = sample.extras.get("lung_mask", "")
    if drawn:
        out[LUNG] = _read_drawn(Path(drawn))
    elif segmenter is not None:
        result = segmenter.segment(load_image(sample.path))
        if result.found:
            out[LUNG] = _shrink(result.mask.view(np.uint8) * np.uint8(255))
    infection = sample.extras.get("infection_mask", "")
    if infection:
        out[INFECTION] = _read_drawn(Path(infection))
    return out


def _read_drawn(path: Path) -> np.ndarray:
    mask = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
    if mask is None:
        raise ValueError(f"cannot read the mask {path.name}")
    return _shrink(np.where(mask > 127, np.uint8(255), np.uint8(0)))


def _shrink(mask: np.ndarray) -> np.ndarray:
    small = cv2.resize(mask, (MASK_SIDE, MASK_SIDE), interpolation=cv2.INTER_AREA)
    return np.where(small > 127, np.uint8(255), np.uint8(0))


def on_model_grid(masks: np.ndarray, geometry: Geometry, grid: int) -> np.ndarray:
    """(K, MASK_SIDE, MASK_SIDE) stored masks -> float32 (K, grid, grid): each cell's share inside.

    The image's crop, resize and letterbox as one affine warp from the stored grid onto the
    model input (padding outside the content box stays 0), then area-averaged to ``grid``.
    """
    height, width = geometry.source_size
    size = geometry.output_size
    x0, y0, x1, y1 = geometry.content_box
    # continuous coordinates (pixel centres at i + 0.5): model = (stored * W / side - crop_x0) * scale + pad
    ax, ay = width / MASK_SIDE * geometry.scale, height / MASK_SIDE * geometry.scale
    bx = geometry.pad[0] - geometry.crop_box[0] * geometry.scale
    by = geometry.pad[1] - geometry.crop_box[1] * geometry.scale
    matrix = np.array([[ax, 0, 0.5 * ax + bx - 0.5], [0, ay, 0.5 * ay + by - 0.5]])
    out = np.zeros((len(masks), grid, grid), dtype=np.float32)
    for k, mask in enumerate(masks):
        if not mask.any():
            continue
        model = cv2.warpAffine(mask, matrix, (size, size), flags=cv2.INTER_LINEAR, borderValue=0)
        inside = np.zeros_like(model)
        inside[y0:y1, x0:x1] = model[y0:y1, x0:x1]
        out[k] = cv2.resize(inside.astype(np.float32) / 255.0, (grid, grid), interpolation=cv2.INTER_AREA)
    return out


def _read(path: Path, key: str) -> dict[str, np.ndarray]:
    if not path.is_file():
        return {}
    try:
        with np.load(path, allow_pickle=False) as data:
            if str(data["key"]) != key or int(data["side"]) != MASK_SIDE:
                return {}
            paths, packed = data["paths"], data["masks"]
    except (OSError, ValueError, KeyError):
        log.warning("ignoring an unreadable lung-mask cache %s", path.name)
        return {}
    masks = np.unpackbits(packed, axis=-1, count=MASK_SIDE * MASK_SIDE).reshape(len(paths), 2, MASK_SIDE, MASK_SIDE)
    return {str(p): m * np.uint8(255) for p, m in zip(paths, masks)}


def _write(path: Path, key: str, masks: dict[str, np.ndarray]) -> None:
    paths = np.array(list(masks), dtype=str)
    flat = np.stack([m > 127 for m in masks.values()]).reshape(len(masks), 2, -1)
    buffer = io.BytesIO()
    np.savez_compressed(buffer, key=np.array(key), side=np.array(MASK_SIDE), paths=paths,
                        masks=np.packbits(flat, axis=-1))
    atomic_write_bytes(path, buffer.getvalue())
