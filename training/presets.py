"""Every training default, and named presets, in ONE place.

Options the user does not give on the command line come from the chosen preset,
then from BASE. A model card records the resolved values and the command line.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class TrainOptions:
    """Every training setting, typed. A misspelt name fails at once (dataclasses.replace raises)."""

    arch: str = "efficientnet_lite0"
    weights: str = "imagenet"  # imagenet | none | PATH (safetensors or a tensor-only .pt/.pth)
    epochs: int = 30
    batch_size: int = 32
    lr: float = 1e-3
    weight_decay: float = 0.05
    schedule: str = "cosine"  # cosine | plateau
    warmup_epochs: float = 1.0
    patience: int = 6  # early stopping on val macro-F1
    clip_grad_norm: float = 1.0
    label_smoothing: float = 0.0
    # Column (e.g. age_group, source) whose values get equal weight within each class,
    # so a minority like adult pneumonia counts as much as the pediatric majority.
    reweight_by: str | None = None
    dropout: float = 0.2
    img_size: int = 224
    intensity: str = "equalize"
    crop_border: bool = True
    lung_crop: bool = False  # crop each image to its lung fields (the lung model's boxes) plus a margin
    lung_model: str | None = None  # lung model directory (default: the bundled one)
    # Weights of the Grad-CAM losses (training/cam_loss.py): the map's mass outside the lung
    # fields (drawn lung_mask column, else the lung model's), and outside a drawn infection_mask.
    cam_lung_weight: float = 0.0
    cam_infection_weight: float = 0.0
    augment: str = "rotate,affine,brightness,contrast,gamma,noise,speckle"
    augment_p: float = 0.5
    freeze_stages: int = 0
    cache_features: bool = False
    cache_views: int = 3
    cache_stages: int | None = None  # cache the output of this many stages (default: freeze_stages)
    cache_dir: str | None = None  # default OUT/cache; runs sharing one reuse matching caches
    workers: int = 2
    val_fraction: float = 0.1
    test_fraction: float = 0.1
    ood_keep_fraction: float = 0.995
    seed: int = 0

    def replace(self, **changes: Any) -> TrainOptions:
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """JSON- and weights_only-safe (paths as strings), for checkpoints and model cards."""
        return {k: str(v) if isinstance(v, Path) else v for k, v in dataclasses.asdict(self).items()}

    @classmethod
    def names(cls) -> tuple[str, ...]:
        return tuple(f.name for f in dataclasses.fields(cls))


BASE = TrainOptions()

PRESETS: dict[str, dict[str, Any]] = {
    "default": {},
    # Full fine-tuning for a GPU.
    "gpu": {"batch_size": 64, "lr": 3e-4, "epochs": 40, "workers": 8},
    # CPU budget (a few cores, ~1 hour): the stem and the first five Lite0 block
    # groups are frozen and their output cached once for a few augmented views; the
    # last two block groups, the head conv and the classifier train on the cache.
    "cpu-cached": {
        "freeze_stages": 6,
        "cache_features": True,
        "cache_views": 3,
        "epochs": 25,
        "batch_size": 64,
        "lr": 1e-3,
        "patience": 6,
        "augment_p": 0.6,
    },
    # Seconds-long runs for tests and smoke checks.
    "tiny": {"arch": "simple_cnn", "weights": "none", "epochs": 2, "batch_size": 8, "img_size": 64, "workers": 0},
}

# A misspelt key in a preset fails on import, not hours into a run.
_CHECKED = {name: BASE.replace(**overrides) for name, overrides in PRESETS.items()}


def resolve(explicit: dict[str, Any], preset: str) -> TrainOptions:
    """Command-line values (None = not given) over the preset over BASE."""
    if preset not in PRESETS:
        raise ValueError(f"unknown preset {preset!r}; choose one of: {', '.join(PRESETS)}")
    given = {key: value for key, value in explicit.items() if value is not None}
    options = _CHECKED[preset].replace(**given)
    if options.cache_stages is None:
        options = options.replace(cache_stages=options.freeze_stages)
    return options
