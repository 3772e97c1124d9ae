"""The models on ONNX Runtime, on the CPU (no torch): see backends.py for when."""

from __future__ import annotations

import logging
import platform
from pathlib import Path

from cxrviewer.model.errors import ModelFileMissingError
from cxrviewer.model.onnx_runtime import OnnxLungSegmenter, OnnxPredictor, intra_op_threads

from .backends import Backend

log = logging.getLogger(__name__)

FORM = "onnxruntime"


def load_onnx(model_dir: Path, lung_dir: Path) -> Backend:
    predictor = OnnxPredictor.from_dir(model_dir, lung_dir)
    segmenter = predictor.segmenter
    if segmenter is None:
        try:
            segmenter = OnnxLungSegmenter.from_dir(lung_dir)
        except ModelFileMissingError:
            log.info("no lung model at %s: readings carry no lung fields", lung_dir)
    # The runtime first: the status bar shows the start of this.
    name = f"CPU (ONNX Runtime, {intra_op_threads()} threads, {platform.machine() or 'unknown'})"
    return Backend(predictor, segmenter, "cpu", name, FORM)
