"""What a classifier says about one image, and the steps around the forward pass (no torch).

Shared by the torch Predictor and the ONNX Runtime one, so calibration, the OOD flag,
the lung-crop input and the lung-model check are written once.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, TypeVar

import numpy as np

from cxrviewer.io.image import LoadedImage

from .config import ModelConfig
from .errors import ModelFileMissingError, ModelFormatError
from .lung_config import LUNG_WEIGHTS_FILE
from .lung_fields import LungResult
from .preprocess import Preprocessed, preprocess


@dataclass(frozen=True)
class Prediction:
    probabilities: dict[str, float]  # temperature-calibrated, sums to 1
    label: str
    confidence: float
    ood_score: float
    ood_flag: bool  # True: not like the chest X-rays the model was trained on


def prediction_from(probabilities: np.ndarray, score: float, labels: Sequence[str], threshold: float) -> Prediction:
    """A Prediction from calibrated probabilities (C,) and an OOD score."""
    best = int(np.argmax(probabilities))
    return Prediction(
        probabilities={label: float(p) for label, p in zip(labels, probabilities)},
        label=labels[best],
        confidence=float(probabilities[best]),
        ood_score=float(score),
        ood_flag=bool(score > threshold),
    )


def calibrated_probabilities(logits: np.ndarray, temperature: float) -> np.ndarray:
    """softmax(logits / T) in float32, (N, C)."""
    scaled = np.asarray(logits, dtype=np.float32) / np.float32(temperature)
    scaled -= scaled.max(axis=1, keepdims=True)
    exp = np.exp(scaled)
    return exp / exp.sum(axis=1, keepdims=True)


class _Segments(Protocol):  # the part of a lung segmenter model_input needs
    def segment(self, image: LoadedImage) -> LungResult: ...


def model_input(image: LoadedImage, config: ModelConfig, lungs: LungResult | None,
                segmenter: _Segments | None) -> Preprocessed:
    """The model input; a lung-cropping model uses ``lungs`` (segmented here when not given)."""
    box = None
    if config.preprocessing.lung_crop:
        if lungs is None and segmenter is not None:
            lungs = segmenter.segment(image)
        box = lungs.box if lungs is not None and lungs.found else None
    return preprocess(image, config.preprocessing, box)


Segmenter = TypeVar("Segmenter")


def required_segmenter(config: ModelConfig, load: Callable[[Path], Segmenter], lung_dir: str | Path | None) -> Segmenter:
    """The lung model a lung-cropping classifier was trained with (the bundled one, checked by hash)."""
    from cxrviewer.resources import bundled_lung_model_dir

    lung_dir = Path(lung_dir) if lung_dir else bundled_lung_model_dir()
    try:
        segmenter = load(lung_dir)
    except ModelFileMissingError:
        raise ModelFileMissingError(
            f"this model crops its input to the lung fields, but the lung model is missing ({lung_dir})"
        ) from None
    wanted = config.preprocessing.lung_model
    if wanted and segmenter.config.files[LUNG_WEIGHTS_FILE] != wanted:
        raise ModelFormatError(
            "this model was trained on lung crops from another lung model than the one installed "
            f"({LUNG_WEIGHTS_FILE} sha256 {wanted[:12]}…); retrain or adapt it with this one"
        )
    return segmenter
