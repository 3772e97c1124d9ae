"""InferenceEngine: one model directory -> results for images (no Qt; torch only where it runs the model).

The worker thread imports this module with importlib (so the window never imports a
runtime); ``cxr predict`` uses it directly. One engine serves one thread. The models
run on ONNX Runtime on the CPU when the directories carry exported graphs, else on
PyTorch (backends.py), behind the same calls and with the same answers.

    engine = InferenceEngine.load(model_dir, device="auto")   # raises on a bad model
    engine.info                                               # ModelInfo (device name, labels, ...)
    result = engine.run(request)                              # InferenceResult, or None if cancelled
    results = engine.run_many(requests_with_images)           # batched forward (CLI)

With a CAM, probabilities, the OOD score and the map come from one forward
pass; without one the forward runs alone. On PyTorch and the CPU the loaded
classifier is first rewritten for inference (cxrviewer.model.fast_forward:
BatchNorm folded, channels-last, oneDNN fused convolutions; the same answers to
float rounding); CXR_FAST_FORWARD=0 keeps it as loaded (on PyTorch).
"""

from __future__ import annotations

import logging
import time
import weakref
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from cxrviewer.io import LoadedImage
from cxrviewer.io.sandbox import load_image_isolated
from cxrviewer.model.cam_maps import cam_result, resolve_target
from cxrviewer.model.config import CARD_FILE
from cxrviewer.model.lung_fields import LungResult, mass_inside
from cxrviewer.model.prediction import Prediction
from cxrviewer.model.preprocess import Preprocessed
from cxrviewer.resources import bundled_lung_model_dir

from . import backends
from .backends import ENGINE_ENV, FAST_FORWARD_ENV, Backend
from .lung_outline import outlines
from .requests import DEFAULT_UNCERTAIN_BELOW, InferenceRequest, InferenceResult, LungReading, ModelInfo

log = logging.getLogger(__name__)

Cancelled = Callable[[], bool]


def _never() -> bool:
    return False


__all__ = ["ENGINE_ENV", "FAST_FORWARD_ENV", "InferenceEngine", "lung_reading"]


class InferenceEngine:
    def __init__(self, predictor, info: ModelInfo, segmenter=None) -> None:
        """``predictor``: a Predictor or OnnxPredictor; ``segmenter``: a LungSegmenter or OnnxLungSegmenter."""
        self.predictor = predictor
        self.info = info
        self.segmenter = segmenter
        self._labels = tuple(predictor.labels)
        # Lung fields per decoded image: a CAM method or class change re-runs the classifier, not this.
        self._lungs: weakref.WeakKeyDictionary[LoadedImage, LungResult] = weakref.WeakKeyDictionary()

    @classmethod
    def load(cls, model_dir: str | Path, device: str = "auto", lung_dir: str | Path | None = None) -> InferenceEngine:
        """Raises ModelDirError (missing, malformed, tampered) or ValueError (unknown architecture).

        ``lung_dir``: the lung-field model (default: the bundled one). Without it the
        results carry no lung reading, unless the classifier needs lungs for its own
        input (lung cropping), which is then refused.
        """
        start = time.perf_counter()
        model_dir = Path(model_dir)
        lung_dir = Path(lung_dir) if lung_dir else bundled_lung_model_dir()
        kind = backends.choose(model_dir, device, lung_dir)
        backend = backends.load(kind, model_dir, device, lung_dir)
        info = _model_info(backend, model_dir, (time.perf_counter() - start) * 1e3)
        log.info("model %s loaded on %s in %.0f ms (forward: %s)", info.architecture, info.device_name,
                 info.load_ms, backend.form)
        return cls(backend.predictor, info, backend.segmenter)

    def lungs(self, image: LoadedImage) -> LungResult | None:
        """The image's lung fields, computed once per decoded image; None without a lung model."""
        if self.segmenter is None:
            return None
        cached = self._lungs.get(image)
        if cached is None:
            cached = self.segmenter.segment(image)
            self._lungs[image] = cached
        return cached

    def run(self, request: InferenceRequest, cancelled: Cancelled = _never) -> InferenceResult | None:
        """Analyse one image; None when ``cancelled()`` turned true between steps."""
        if cancelled():
            return None
        timings: dict[str, float] = {}
        image = request.image
        if image is None:
            image, timings["load_ms"] = _timed(load_image_isolated, request.path)
        if cancelled():
            return None
        results = self._analyse([request], [image], timings, cancelled)
        return results[0] if results else None

    def run_many(self, requests: Sequence[InferenceRequest], images: Sequence[LoadedImage]) -> list[InferenceResult]:
        """One batched forward (and gradient pass when CAMs are asked for) for decoded images."""
        if not requests:
            return []
        return self._analyse(list(requests), list(images), {}, _never)

    def _analyse(self, requests, images, timings, cancelled) -> list[InferenceResult]:
        method = requests[0].cam_method
        want_cam = requests[0].cam
        if any(r.cam != want_cam or r.cam_method != method for r in requests):
            raise ValueError("a batch must use one CAM setting")
        targets = [resolve_target(r.target, self._labels) for r in requests]
        start = time.perf_counter()
        lungs = [self.lungs(image) for image in images]
        timings["lungs_ms"] = (time.perf_counter() - start) * 1e3 / len(images)
        if cancelled():
            return []
        start = time.perf_counter()
        prepared = [self.predictor.preprocess(image, lung) for image, lung in zip(images, lungs)]
        timings["preprocess_ms"] = (time.perf_counter() - start) * 1e3 / len(images)
        if cancelled():
            return []
        batch = np.stack([p.array for p in prepared])
        if want_cam:
            predictions, cams, step_ms = self._forward_with_cam(batch, targets, method, prepared)
        else:
            predictions, step_ms = self._forward_only(batch)
            cams = [None] * len(requests)
        if cancelled():
            return []
        timings.update({k: v / len(requests) for k, v in step_ms.items()})  # amortised over the batch
        timings["total_ms"] = sum(timings.values())
        return [self._result(r, p, c, timings, lung) for r, p, c, lung in zip(requests, predictions, cams, lungs)]

    def _forward_with_cam(self, batch: np.ndarray, targets, method, prepared):
        predictions, explained, timings = self.predictor.predict_with_cam(batch, _targets(targets), method)
        start = time.perf_counter()
        cams = [cam_result(explained, i, method, self._labels, p.geometry) for i, p in enumerate(prepared)]
        timings["cam_ms"] += (time.perf_counter() - start) * 1e3  # mapping back to full resolution
        return predictions, cams, timings

    def _forward_only(self, batch: np.ndarray) -> tuple[list[Prediction], dict[str, float]]:
        start = time.perf_counter()
        predictions = self.predictor.predict_arrays(batch)
        return predictions, {"forward_ms": (time.perf_counter() - start) * 1e3, "cam_ms": 0.0}

    def _result(self, request, prediction: Prediction, cam, timings, lungs: LungResult | None) -> InferenceResult:
        return InferenceResult(
            request_id=request.request_id,
            path=request.path,
            probabilities=prediction.probabilities,
            label=prediction.label,
            confidence=prediction.confidence,
            uncertain=prediction.confidence < self.info.uncertain_below,
            ood_score=prediction.ood_score,
            ood_flag=prediction.ood_flag,
            cam=None if cam is None else cam.full_map,
            cam_method=None if cam is None else cam.method,
            cam_label=None if cam is None else cam.label,
            timings=timings,
            batch_id=request.batch_id,
            lungs=None if lungs is None else lung_reading(lungs, None if cam is None else cam.full_map),
        )

    def preprocess(self, image: LoadedImage) -> Preprocessed:
        return self.predictor.preprocess(image)


def lung_reading(lungs: LungResult, cam: np.ndarray | None) -> LungReading:
    return LungReading(
        found=lungs.found,
        area_fraction=lungs.area_fraction,
        reason=lungs.reason,
        mask=lungs.mask,
        outlines=outlines(lungs.mask),
        cam_in_lungs=None if cam is None else mass_inside(cam, lungs.mask),
    )


def _targets(targets: list[int | None]) -> list[int] | None:
    if all(t is None for t in targets):
        return None
    if any(t is None for t in targets):
        raise ValueError("a batch must give a class for every image or for none")
    return [int(t) for t in targets]


def _timed(fn, *args):
    start = time.perf_counter()
    value = fn(*args)
    return value, (time.perf_counter() - start) * 1e3


def _model_info(backend: Backend, model_dir: Path, load_ms: float) -> ModelInfo:
    config = backend.predictor.config
    card = model_dir / CARD_FILE
    return ModelInfo(
        model_dir=model_dir,
        architecture=config.architecture,
        labels=tuple(config.labels),
        input_size=config.input_size,
        cam_target_layer=config.cam_target_layer,
        device=backend.device,
        device_name=backend.device_name,
        uncertain_below=float(getattr(config, "uncertain_below", None) or DEFAULT_UNCERTAIN_BELOW),
        ood_threshold=float(config.ood.threshold),
        load_ms=load_ms,
        card=card.read_text(encoding="utf-8") if card.is_file() else "",
        lung_model="" if backend.segmenter is None else backend.segmenter.config.architecture,
        forward_form=backend.form,
    )
