"""The models on PyTorch (GPU, or CPU without an ONNX graph): load, and rewrite for the CPU."""

from __future__ import annotations

import logging
import os
import platform
from pathlib import Path

import torch

from cxrviewer.model.errors import ModelFileMissingError
from cxrviewer.model.fast_forward import NONE, optimise_for_inference
from cxrviewer.model.lung_model import LungSegmenter
from cxrviewer.model.predictor import Predictor, resolve_device

from .backends import FAST_FORWARD_ENV, Backend

log = logging.getLogger(__name__)


def load_torch(model_dir: Path, device: str, lung_dir: Path) -> Backend:
    predictor = Predictor.from_dir(model_dir, device=device)
    predictor.model.requires_grad_(False)  # CAM differentiates the activation, never the weights
    form = _optimise(predictor)
    segmenter = _load_segmenter(lung_dir, predictor)
    return Backend(predictor, segmenter, predictor.device.type, device_name(predictor.device), form)


def accelerator_available() -> bool:
    """A CUDA or MPS device torch can use (what resolve_device("auto") would pick over the CPU)."""
    return resolve_device("auto").type != "cpu"


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


def device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    if device.type == "mps":
        return "Apple GPU (MPS)"
    return f"CPU (PyTorch, {torch.get_num_threads()} threads, {platform.machine() or 'unknown'})"
