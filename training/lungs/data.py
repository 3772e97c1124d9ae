"""The lungs data set: image + lung mask pairs through the viewer's own preprocessing.

Each sample is loaded with the viewer's loader, optionally distorted (geometry on
image and mask together, exposure on the image only), turned back into a
LoadedImage and preprocessed by the very function inference uses; the mask follows
the same crop/resize/letterbox through Geometry.map_from_source. So what the
network learns on is exactly what it will see, and the augmentations stand in for
what the shared set lacks: rotated, cropped, zoomed-out and differently exposed
films from other detectors.
"""

from __future__ import annotations

import csv
import dataclasses
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import torch
from torch.utils.data import Dataset

from cxrviewer.io import load_image
from cxrviewer.imaging.autowindow import auto_window
from cxrviewer.io.image import LoadedImage
from cxrviewer.model.preprocess import PreprocessConfig, preprocess


class LungDataError(ValueError):
    pass


@dataclass(frozen=True)
class LungSample:
    image: Path
    lung_mask: Path
    infection_mask: Path | None
    label: str
    split: str


def read_lung_manifest(csv_path: Path) -> list[LungSample]:
    """Rows of lungs/labels.csv (path, lung_mask[, infection_mask, label, split]); paths relative to it."""
    if not csv_path.is_file():
        raise LungDataError(f"no such manifest: {csv_path}")
    root = csv_path.parent
    with open(csv_path, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    if not rows or not {"path", "lung_mask"} <= set(rows[0]):
        raise LungDataError(f"{csv_path.name} needs the columns path and lung_mask")
    return [
        LungSample(
            image=root / row["path"],
            lung_mask=root / row["lung_mask"],
            infection_mask=(root / row["infection_mask"]) if row.get("infection_mask") else None,
            label=row.get("label", ""),
            split=row.get("split", "train") or "train",
        )
        for row in rows
    ]


def read_mask(path: Path) -> np.ndarray:
    mask = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
    if mask is None:
        raise LungDataError(f"cannot read mask {path.name}")
    return mask > 127


@dataclass(frozen=True)
class Distortion:
    """Augmentation strengths; probabilities are per image."""

    rotate_deg: float = 12.0
    scale: tuple[float, float] = (0.7, 1.25)  # < 1 zooms out (film in a larger field), > 1 crops
    shift: float = 0.08
    hflip_p: float = 0.5  # mirrored films exist (wrong side marker); lung shape is nearly symmetric
    gamma: tuple[float, float] = (0.6, 1.6)
    blur_p: float = 0.2
    noise_p: float = 0.3


def distort(pixels: np.ndarray, mask: np.ndarray, d: Distortion, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Same random affine on image (float32) and mask (bool); exposure changes on the image only."""
    h, w = pixels.shape
    angle = rng.uniform(-d.rotate_deg, d.rotate_deg)
    scale = rng.uniform(*d.scale)
    matrix = cv2.getRotationMatrix2D((w / 2, h / 2), angle, scale)
    matrix[:, 2] += rng.uniform(-d.shift, d.shift, size=2) * (w, h)
    fill = float(rng.choice([pixels.min(), pixels.max(), np.median(pixels)]))
    pixels = cv2.warpAffine(pixels, matrix, (w, h), flags=cv2.INTER_LINEAR, borderValue=fill)
    mask = cv2.warpAffine(mask.astype(np.uint8), matrix, (w, h), flags=cv2.INTER_NEAREST, borderValue=0) > 0
    if rng.random() < d.hflip_p:
        pixels, mask = pixels[:, ::-1].copy(), mask[:, ::-1].copy()
    low, high = float(pixels.min()), float(pixels.max())
    span = max(high - low, 1e-6)
    pixels = low + span * ((pixels - low) / span) ** rng.uniform(*d.gamma)
    if rng.random() < d.blur_p:
        pixels = cv2.GaussianBlur(pixels, (0, 0), rng.uniform(0.5, 1.5))
    if rng.random() < d.noise_p:
        pixels = pixels + rng.normal(0, 0.03 * span, pixels.shape).astype(np.float32)
    return pixels.astype(np.float32), mask


def as_loaded(image: LoadedImage, pixels: np.ndarray) -> LoadedImage:
    """``image`` with new pixels and the automatic window the loader would give them."""
    window = auto_window(pixels)
    return dataclasses.replace(image, pixels=pixels, window=window, presets=(window,))


class LungDataset(Dataset):
    """(input (1, S, S) float32, mask (1, S, S) float32 in {0, 1}); seeded per (seed, epoch, index)."""

    def __init__(self, samples: list[LungSample], preprocessing: PreprocessConfig,
                 distortion: Distortion | None = None, seed: int = 0) -> None:
        self.samples = samples
        self.preprocessing = preprocessing
        self.distortion = distortion
        self.seed = seed
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        sample = self.samples[index]
        image = load_image(sample.image)
        mask = read_mask(sample.lung_mask)
        if mask.shape != image.pixels.shape:
            mask = cv2.resize(mask.astype(np.uint8), (image.width, image.height), interpolation=cv2.INTER_NEAREST) > 0
        if self.distortion is not None:
            rng = np.random.default_rng([self.seed, self.epoch, index])
            pixels, mask = distort(image.pixels, mask, self.distortion, rng)
            image = as_loaded(image, pixels)
        pre = preprocess(image, self.preprocessing)
        target = pre.geometry.map_from_source(mask.astype(np.uint8), nearest=True).astype(np.float32)
        return torch.from_numpy(pre.array), torch.from_numpy(target[None])
