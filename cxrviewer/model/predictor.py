"""Predictor: a model directory -> calibrated probabilities and an OOD flag per image.

This is the API the viewer and `cxr evaluate` use. Preprocessing is the very
function training used (cxrviewer.model.preprocess.preprocess).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from cxrviewer.io.image import LoadedImage

from .architectures import CxrClassifier, build_model
from .config import ModelConfig
from .errors import ModelFormatError
from .lung_fields import LungResult
from .lung_model import LungSegmenter
from .model_dir import read_model_dir
from .ood import MahalanobisOOD
from .prediction import Prediction, model_input, prediction_from, required_segmenter
from .preprocess import Preprocessed

__all__ = ["Prediction", "Predictor", "load_required_segmenter", "resolve_device"]


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    if str(device) != "auto":
        return torch.device(device)
    if torch.cuda.is_available():
        return torch.device("cuda")
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


class Predictor:
    def __init__(self, model: CxrClassifier, config: ModelConfig, ood: MahalanobisOOD, device: torch.device,
                 segmenter: LungSegmenter | None = None) -> None:
        self.model = model.to(device).eval()
        self.config = config
        self.labels: tuple[str, ...] = tuple(config.labels)
        self.device = device
        self.ood = ood.to(device)
        self.segmenter = segmenter  # set when the model's input is cropped to the lung fields

    @classmethod
    def from_dir(cls, path: str | Path, device: str | torch.device = "auto",
                 lung_dir: str | Path | None = None) -> Predictor:
        """``lung_dir``: where the lung model of a lung-cropping classifier lives (default: bundled)."""
        contents = read_model_dir(path)
        config = contents.config
        model = build_model(config.architecture, len(config.labels), init=False)  # loaded strictly below
        try:
            if config.ood.layer:
                model.set_ood_layer(config.ood.layer)
            if config.cam_target_layer:
                model.get_submodule(config.cam_target_layer)  # fail now, not in the Grad-CAM view
        except (ValueError, AttributeError) as exc:
            raise ModelFormatError(f"model.json names a layer {config.architecture} does not have: {exc}") from exc
        if any(key.startswith("ood_stage.") for key in contents.state_dict):
            model.freeze_ood_stage()  # an adapted model: its OOD descriptor has weights of its own
        try:
            model.load_state_dict(contents.state_dict, strict=True)
        except RuntimeError as exc:
            raise ModelFormatError(f"weights do not fit {config.architecture}: {exc}") from exc
        device = resolve_device(device)
        segmenter = load_required_segmenter(config, device, lung_dir) if config.preprocessing.lung_crop else None
        return cls(model, config, MahalanobisOOD.from_tensors(contents.extra_tensors), device, segmenter)

    @property
    def needs_lungs(self) -> bool:
        return self.config.preprocessing.lung_crop

    def preprocess(self, image: LoadedImage, lungs: LungResult | None = None) -> Preprocessed:
        """The model input; a lung-cropping model uses ``lungs`` (segmented here when not given)."""
        return model_input(image, self.config, lungs, self.segmenter)

    def predict(self, images: Sequence[LoadedImage], batch_size: int = 32) -> list[Prediction]:
        results: list[Prediction] = []
        for start in range(0, len(images), batch_size):
            chunk = images[start : start + batch_size]
            batch = np.stack([self.preprocess(image).array for image in chunk])
            results.extend(self.predict_arrays(batch))
        return results

    @torch.inference_mode()
    def predict_arrays(self, batch: np.ndarray) -> list[Prediction]:
        """``batch``: float32 (N, 1, S, S) from preprocess(), S = config.input_size."""
        size = self.config.input_size
        if batch.ndim != 4 or batch.shape[1:] != (1, size, size):
            raise ValueError(f"expected a batch of shape (N, 1, {size}, {size}), got {batch.shape}")
        inputs = torch.from_numpy(np.ascontiguousarray(batch, dtype=np.float32)).to(self.device)
        return self.predictions_from_outputs(*self.model.forward_with_features(inputs))

    @torch.inference_mode()
    def predictions_from_outputs(self, logits: torch.Tensor, features: torch.Tensor) -> list[Prediction]:
        """Calibrated Predictions from ``model.forward_with_features`` outputs.

        Used by predict_arrays and by passes that ran the model themselves (the
        Grad-CAM pass), so calibration and the OOD score are computed in one place.
        """
        probabilities = torch.softmax(logits.float() / self.config.temperature, dim=1).cpu().numpy()
        scores = self.ood.score(features).cpu().numpy()
        return [self.prediction_from(p, s) for p, s in zip(probabilities, scores)]

    def predict_with_cam(self, batch: np.ndarray, targets: Sequence[int] | None, method: str):
        """(predictions, CamBatch, timings): probabilities, the OOD score and the maps from one forward."""
        from .cam import compute_cam

        inputs = torch.from_numpy(np.ascontiguousarray(batch, dtype=np.float32)).to(self.device)
        explained = compute_cam(self.model, inputs, self.config.cam_target_layer, method, targets)
        return self.predictions_from_outputs(explained.logits, explained.features), explained, dict(explained.timings)

    def prediction_from(self, probabilities: np.ndarray, score: float) -> Prediction:
        """A Prediction from calibrated probabilities (C,) and an OOD score."""
        return prediction_from(probabilities, score, self.labels, self.config.ood.threshold)


def load_required_segmenter(config: ModelConfig, device: torch.device,
                            lung_dir: str | Path | None = None) -> LungSegmenter:
    """The lung model a lung-cropping classifier was trained with (the bundled one, checked by hash)."""
    return required_segmenter(config, lambda path: LungSegmenter.from_dir(path, device=device), lung_dir)
