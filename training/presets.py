"""Every training default, and named presets, in ONE place.

Options the user does not give on the command line come from the chosen preset,
then from BASE. A model card records the resolved values and the command line.
"""

from __future__ import annotations

from typing import Any

BASE: dict[str, Any] = {
    "arch": "efficientnet_lite0",
    "weights": "imagenet",  # imagenet | none | PATH (safetensors or a tensor-only .pt/.pth)
    "epochs": 30,
    "batch_size": 32,
    "lr": 1e-3,
    "weight_decay": 0.05,
    "schedule": "cosine",  # cosine | plateau
    "warmup_epochs": 1.0,
    "patience": 6,  # early stopping on val macro-F1
    "clip_grad_norm": 1.0,
    "label_smoothing": 0.0,
    # Column (e.g. age_group, source) whose values get equal weight within each class,
    # so a minority like adult pneumonia counts as much as the pediatric majority.
    "reweight_by": None,
    "dropout": 0.2,
    "img_size": 224,
    "intensity": "equalize",
    "crop_border": True,
    "augment": "rotate,affine,brightness,contrast,gamma,noise,speckle",
    "augment_p": 0.5,
    "freeze_stages": 0,
    "cache_features": False,
    "cache_views": 3,
    "cache_stages": None,  # cache the output of this many stages (default: --freeze-stages)
    "cache_dir": None,  # default OUT/cache; runs sharing one reuse matching caches
    "workers": 2,
    "val_fraction": 0.1,
    "test_fraction": 0.1,
    "ood_keep_fraction": 0.995,
    "seed": 0,
}

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


def resolve(explicit: dict[str, Any], preset: str) -> dict[str, Any]:
    """Command-line values (None = not given) over the preset over BASE."""
    if preset not in PRESETS:
        raise ValueError(f"unknown preset {preset!r}; choose one of: {', '.join(PRESETS)}")
    merged = {**BASE, **PRESETS[preset]}
    for key, value in explicit.items():
        if value is not None:
            merged[key] = value
    return merged
