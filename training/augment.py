"""Augmentations on the preprocessed model input (float32 (1, S, S) in [0, 1]).

Each one is switchable by name (``--augment rotate,affine,...``). They run after
preprocess(), so training sees exactly what the viewer feeds the model, plus noise.
Scanner-like perturbations (exposure, gamma, noise, CLAHE) are there to make
source-specific intensity statistics useless as a shortcut.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

AUGMENTATIONS = ("rotate", "affine", "brightness", "contrast", "gamma", "noise", "speckle", "clahe", "hflip")
DEFAULT_AUGMENTATIONS = ("rotate", "affine", "brightness", "contrast", "gamma", "noise", "speckle")


@dataclass(frozen=True)
class AugmentConfig:
    enabled: frozenset[str] = frozenset(DEFAULT_AUGMENTATIONS)
    probability: float = 0.5  # of each enabled augmentation, independently
    max_rotation_deg: float = 8.0
    scale_range: tuple[float, float] = (0.9, 1.1)
    max_translate: float = 0.06  # fraction of the side
    brightness: float = 0.08
    contrast_range: tuple[float, float] = (0.8, 1.25)
    gamma_range: tuple[float, float] = (0.75, 1.35)
    noise_std: float = 0.03
    speckle_std: float = 0.08
    clahe_clip_range: tuple[float, float] = (1.0, 3.0)

    def __post_init__(self) -> None:
        unknown = set(self.enabled) - set(AUGMENTATIONS)
        if unknown:
            raise ValueError(f"unknown augmentation(s) {sorted(unknown)}; choose from {', '.join(AUGMENTATIONS)}")

    @classmethod
    def from_names(cls, names: str, hflip: bool = False, probability: float = 0.5) -> AugmentConfig:
        chosen = {n.strip() for n in names.split(",") if n.strip() and n.strip() != "none"}
        if hflip:
            chosen.add("hflip")
        return cls(enabled=frozenset(chosen), probability=probability)


def augment(array: np.ndarray, config: AugmentConfig, rng: np.random.Generator) -> np.ndarray:
    """Return an augmented copy; same shape and dtype as ``array``."""
    image = array[0].astype(np.float32, copy=True)
    on = config.enabled

    def roll(name: str) -> bool:
        return name in on and rng.random() < config.probability

    if roll("hflip"):
        image = image[:, ::-1].copy()
    rotate, affine = roll("rotate"), roll("affine")
    if rotate or affine:
        image = _warp(image, config, rng, rotate, affine)
    if roll("clahe"):
        clip = rng.uniform(*config.clahe_clip_range)
        as_uint8 = (np.clip(image, 0, 1) * 255).astype(np.uint8)
        image = cv2.createCLAHE(clipLimit=clip, tileGridSize=(8, 8)).apply(as_uint8).astype(np.float32) / 255
    if roll("contrast"):
        mean = image.mean()
        image = (image - mean) * rng.uniform(*config.contrast_range) + mean
    if roll("brightness"):
        image = image + rng.uniform(-config.brightness, config.brightness)
    if roll("gamma"):
        image = np.clip(image, 0, 1) ** rng.uniform(*config.gamma_range)
    if roll("speckle"):
        image = image * (1 + rng.normal(0, rng.uniform(0, config.speckle_std), image.shape))
    if roll("noise"):
        image = image + rng.normal(0, rng.uniform(0, config.noise_std), image.shape)
    return np.clip(image, 0, 1).astype(array.dtype)[None]


def _warp(image: np.ndarray, config: AugmentConfig, rng: np.random.Generator, rotate: bool, affine: bool) -> np.ndarray:
    size = image.shape[0]
    angle = rng.uniform(-config.max_rotation_deg, config.max_rotation_deg) if rotate else 0.0
    scale = rng.uniform(*config.scale_range) if affine else 1.0
    matrix = cv2.getRotationMatrix2D((size / 2, size / 2), angle, scale)
    if affine:
        matrix[:, 2] += rng.uniform(-config.max_translate, config.max_translate, 2) * size
    return cv2.warpAffine(image, matrix, (size, size), flags=cv2.INTER_LINEAR, borderValue=0.0)
