"""Augmentations on the preprocessed model input (float32 (1, S, S) in [0, 1]).

Each one is switchable by name (``--augment rotate,affine,...``). They run after
preprocess(), so training sees exactly what the viewer feeds the model, plus noise.
Scanner-like perturbations (exposure, gamma, noise, CLAHE) are there to make
source-specific intensity statistics useless as a shortcut.
"""

from __future__ import annotations

from collections.abc import Sequence
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
    return augment_with_masks(array, (), config, rng)[0]


def augment_with_masks(array: np.ndarray, masks: Sequence[np.ndarray], config: AugmentConfig,
                       rng: np.random.Generator) -> tuple[np.ndarray, list[np.ndarray]]:
    """``augment`` that moves ``masks`` (square 2-D arrays covering the image, of any size) with the image.

    The flip and the warp apply to the masks too (see _warp_mask; a
    mask of another size is warped by the same transform scaled to its grid), intensity
    changes do not. Draws from ``rng`` exactly what ``augment`` draws: a cached view and its
    masks are the same view.
    """
    image = array[0].astype(np.float32, copy=True)
    masks = [np.asarray(m) for m in masks]
    on = config.enabled

    def roll(name: str) -> bool:
        return name in on and rng.random() < config.probability

    if roll("hflip"):
        image = image[:, ::-1].copy()
        masks = [m[:, ::-1].copy() for m in masks]
    rotate, affine = roll("rotate"), roll("affine")
    if rotate or affine:
        matrix = _warp_matrix(image.shape[0], config, rng, rotate, affine)
        image = _apply_warp(image, matrix, image.shape[0], cv2.INTER_LINEAR)
        masks = [_warp_mask(m, _rescaled(matrix, m.shape[0] / image.shape[0])) for m in masks]
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
    return np.clip(image, 0, 1).astype(array.dtype)[None], masks


def _warp_matrix(size: int, config: AugmentConfig, rng: np.random.Generator, rotate: bool, affine: bool) -> np.ndarray:
    angle = rng.uniform(-config.max_rotation_deg, config.max_rotation_deg) if rotate else 0.0
    scale = rng.uniform(*config.scale_range) if affine else 1.0
    matrix = cv2.getRotationMatrix2D((size / 2, size / 2), angle, scale)
    if affine:
        matrix[:, 2] += rng.uniform(-config.max_translate, config.max_translate, 2) * size
    return matrix


def _rescaled(matrix: np.ndarray, factor: float) -> np.ndarray:
    """The same transform on a grid ``factor`` times the size (OpenCV's pixel-index coordinates)."""
    if factor == 1:
        return matrix
    # Pixel centres sit at index + 0.5 in continuous coordinates, which scale by ``factor``;
    # x' = A x + t on the first grid becomes x' = A x + f t + (f - 1) / 2 (1 - A 1) on the other.
    linear = matrix[:, :2]
    out = matrix.copy()
    out[:, 2] = factor * matrix[:, 2] + 0.5 * (factor - 1) * (1 - linear.sum(axis=1))
    return out


def _warp_mask(mask: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """Boolean and integer masks by nearest neighbour; fractional (float) ones, such as a mask's
    area share per cell of a coarse grid, bilinearly."""
    if mask.dtype == bool:
        return _apply_warp(mask.view(np.uint8), matrix, mask.shape[0], cv2.INTER_NEAREST).view(bool)
    interpolation = cv2.INTER_LINEAR if np.issubdtype(mask.dtype, np.floating) else cv2.INTER_NEAREST
    return _apply_warp(mask, matrix, mask.shape[0], interpolation)


def _apply_warp(plane: np.ndarray, matrix: np.ndarray, size: int, interpolation: int) -> np.ndarray:
    return cv2.warpAffine(plane, matrix, (size, size), flags=interpolation, borderValue=0)
