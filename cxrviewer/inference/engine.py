"""InferenceEngine: one model directory -> results for images (torch, no Qt).

The worker thread imports this module with importlib (so the window never
imports torch); ``cxr predict`` uses it directly. One engine serves one thread.

    engine = InferenceEngine.load(model_dir, device="auto")   # raises on a bad model
    engine.info                                               # ModelInfo (device name, labels, ...)
    result = engine.run(request)                              # InferenceResult, or None if cancelled
    results = engine.run_many(requests_with_images)           # batched forward (CLI)

With a CAM, probabilities, the OOD score and the map come from one forward
pass (compute_cam returns logits and features); without one the forward runs
under inference_mode. On the CPU the loaded classifier is first rewritten for
inference (cxrviewer.model.fast_forward: BatchNorm folded, channels-last, oneDNN
fused convolutions; the same answers to float rounding); CXR_FAST_FORWARD=0 keeps
it as loaded.
"""

from __future__ import annotations

import logging
import os
import platform
import time
import weakref
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import torch

from cxrviewer.io import LoadedImage
from cxrviewer.io.sandbox import load_image_isolated
from cxrviewer.model.cam import cam_result, compute_cam, resolve_target
from cxrviewer.model.config import CARD_FILE
from cxrviewer.model.errors import ModelFileMissingError
from cxrviewer.model.fast_forward import NONE, optimise_for_inference
from cxrviewer.model.lung_fields import mass_inside
from cxrviewer.model.lung_model import LungResult, LungSegmenter
from cxrviewer.model.predictor import Prediction, Predictor
from cxrviewer.model.preprocess import Preprocessed
from cxrviewer.resources import bundled_lung_model_dir

from .lung_outline import outlines
from .requests import DEFAULT_UNCERTAIN_BELOW, InferenceRequest, InferenceResult, LungReading, ModelInfo

log = logging.getLogger(__name__)

Cancelled = Callable[[], bool]


def _never() -> bool:
    return False


class InferenceEngine:
    def __init__(self, predictor: Predictor, info: ModelInfo, segmenter: LungSegmenter | None = None) -> None:
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
        predictor = Predictor.from_dir(model_dir, device=device)
        predictor.model.requires_grad_(False)  # CAM differentiates the activation, never the weights
        form = _optimise(predictor)
        segmenter = _load_segmenter(Path(lung_dir) if lung_dir else bundled_lung_model_dir(), predictor)
        info = _model_info(predictor, model_dir, (time.perf_counter() - start) * 1e3, segmenter, form)
        log.info("model %s loaded on %s in %.0f ms (forward: %s)", info.architecture, info.device_name,
                 info.load_ms, form)
        return cls(predictor, info, segmenter)

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
        model, config = self.predictor.model, self.predictor.config
        inputs = torch.from_numpy(batch).to(self.predictor.device)
        explained = compute_cam(model, inputs, config.cam_target_layer, method, _targets(targets))
        predictions = self.predictor.predictions_from_outputs(explained.logits, explained.features)
        start = time.perf_counter()
        cams = [cam_result(explained, i, method, self._labels, p.geometry) for i, p in enumerate(prepared)]
        timings = dict(explained.timings)
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


FAST_FORWARD_ENV = "CXR_FAST_FORWARD"  # "0": run the model as loaded (troubleshooting, benchmarks)


def _optimise(predictor: Predictor) -> str:
    """The CPU inference form of the classifier (model/fast_forward.py: BatchNorm folded, channels-last,
    oneDNN fused convs); same probabilities and maps to float rounding. Measured on the CPU only."""
    if predictor.device.type != "cpu" or os.environ.get(FAST_FORWARD_ENV, "1") == "0":
        return NONE
    config = predictor.config
    return optimise_for_inference(predictor.model, config.input_size, (config.cam_target_layer, config.ood.layer))


def _load_segmenter(lung_dir: Path, predictor: Predictor) -> LungSegmenter | None:
    if predictor.segmenter is not None:
        return predictor.segmenter  # the one the classifier was trained with, already checked
    try:
        return LungSegmenter.from_dir(lung_dir, device=predictor.device)
    except ModelFileMissingError:
        log.info("no lung model at %s: readings carry no lung fields", lung_dir)
        return None


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


def _model_info(predictor: Predictor, model_dir: Path, load_ms: float, segmenter: LungSegmenter | None,
                form: str = NONE) -> ModelInfo:
    config = predictor.config
    card = model_dir / CARD_FILE
    return ModelInfo(
        model_dir=model_dir,
        architecture=config.architecture,
        labels=tuple(config.labels),
        input_size=config.input_size,
        cam_target_layer=config.cam_target_layer,
        device=predictor.device.type,
        device_name=device_name(predictor.device),
        uncertain_below=float(getattr(config, "uncertain_below", None) or DEFAULT_UNCERTAIN_BELOW),
        ood_threshold=float(config.ood.threshold),
        load_ms=load_ms,
        card=card.read_text(encoding="utf-8") if card.is_file() else "",
        lung_model="" if segmenter is None else segmenter.config.architecture,
        forward_form=form,
    )


def device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    if device.type == "mps":
        return "Apple GPU (MPS)"
    return f"CPU ({platform.machine() or 'unknown'}, {torch.get_num_threads()} threads)"
