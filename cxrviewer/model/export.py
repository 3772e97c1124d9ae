"""Assemble a model directory from a trained model, and build small ones for tests."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .architectures import CxrClassifier, build_model, get_spec
from .config import ModelConfig, OODConfig
from .model_dir import save_model_dir
from .ood import MahalanobisOOD, threshold_from_scores
from .preprocess import PreprocessConfig

DEFAULT_LABELS = ("normal", "pneumonia", "covid")


def export_model_dir(
    directory: str | Path,
    model: CxrClassifier,
    labels: Sequence[str],
    preprocessing: PreprocessConfig,
    temperature: float,
    ood: MahalanobisOOD,
    ood_threshold: float,
    training: dict[str, Any],
    card: str,
) -> ModelConfig:
    spec = get_spec(model.arch)
    config = ModelConfig(
        labels=tuple(labels),
        architecture=model.arch,
        preprocessing=preprocessing,
        cam_target_layer=model.cam_target_layer,
        temperature=float(temperature),
        ood=OODConfig(threshold=float(ood_threshold), feature_dim=int(ood.class_means.shape[1]),
                      layer=model.ood_layer),
        normalization={"input": "grayscale [0, 1]", "channels": spec.input_channels,
                       "mean": list(spec.mean), "std": list(spec.std)},
        training=training,
    )
    return save_model_dir(directory, model.state_dict(), config, ood.tensors(), card)


RANDOM_CARD = """# Untrained model (random weights)

Built by `create_random_model_dir` for tests and development. Its predictions mean
nothing. Research use only; not for diagnosis.
"""


def create_random_model_dir(
    path: str | Path,
    arch: str = "simple_cnn",
    labels: Sequence[str] = DEFAULT_LABELS,
    input_size: int = 224,
    seed: int = 0,
    temperature: float = 1.0,
    ood_threshold: float | None = None,
) -> Path:
    """A valid model directory in a second, without training (for tests elsewhere).

    The OOD statistics are fitted on smooth synthetic images so the score and
    flag behave like a real model's (finite, thresholded) even though the
    classifier is untrained. A small ``temperature`` makes its readings
    confident; ``ood_threshold`` overrides the fitted threshold.
    """
    torch.manual_seed(seed)
    model = build_model(arch, len(labels)).eval()
    rng = np.random.default_rng(seed)
    images = _smooth_noise_images(rng, count=48, size=input_size)
    with torch.inference_mode():
        _, features = model.forward_with_features(torch.from_numpy(images))
    features_np = features.numpy()
    fit_labels = np.arange(len(features_np)) % len(labels)
    ood = MahalanobisOOD.fit(features_np, fit_labels, len(labels), shrinkage=0.5)
    threshold = threshold_from_scores(ood.score(features).numpy(), keep_fraction=1.0) * 1.5
    if ood_threshold is not None:
        threshold = ood_threshold
    export_model_dir(
        path, model, labels, PreprocessConfig(input_size=input_size), temperature, ood, threshold,
        training={"note": "random weights, not trained"}, card=RANDOM_CARD,
    )
    return Path(path)


def _smooth_noise_images(rng: np.random.Generator, count: int, size: int) -> np.ndarray:
    coarse = torch.from_numpy(rng.random((count, 1, 8, 8), dtype=np.float32))
    return torch.nn.functional.interpolate(coarse, size=(size, size), mode="bilinear").numpy()
