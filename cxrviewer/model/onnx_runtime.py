"""The classifier and the lung model on ONNX Runtime (CPU), without torch.

The graphs come from onnx_export.py. A model directory is checked exactly as the
torch loader checks it (every listed file's sha256, the settings digest in the
weights' header), and each graph must name, in its metadata, the sha256 of the
weights and the settings digest of the directory it sits in.

Why: ``import torch`` is most of the viewer's and ``cxr predict``'s start-up on a
2-core workstation (2.3-3.8 s against about 0.2 s for onnxruntime), and ONNX Runtime's
CPU kernels run this network's forward pass in 0.75x (batch 1) and 0.84x (batch 8) the
time of PyTorch's fused eager form (benchmarks/bench_forward.py, one thread). Probabilities, OOD scores and maps
match the torch path to float rounding (tests/inference/test_onnx_runtime.py).
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import onnxruntime as ort

from cxrviewer.io.image import LoadedImage

from .cam_maps import MapBatch, normalise_and_resize
from .cam_options import CAM_METHODS, check_method
from .config import CONFIG_FILE, RUNTIME_FILE, WEIGHTS_FILE, ModelConfig
from .errors import ModelFileMissingError, ModelFormatError, ModelIntegrityError
from .lung_config import LUNG_RUNTIME_FILE, LUNG_WEIGHTS_FILE, LungModelConfig, verified_lung_config_and_digest
from .lung_fields import LungResult, lung_result
from .model_files import GRAPH_SETTINGS_KEY, GRAPH_WEIGHTS_KEY, verified_model_config
from .prediction import Prediction, calibrated_probabilities, model_input, prediction_from, required_segmenter
from .preprocess import Preprocessed, preprocess

INPUT_NAME = "image"  # as onnx_export.INPUT_NAME (that module imports torch)


def intra_op_threads() -> int:
    """The CPUs this process may use (ORT's own default counts the machine's cores)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def _session(path: Path, weights_sha256: str, settings_sha256: str, threads: int | None = None) -> ort.InferenceSession:
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads or intra_op_threads()
    options.inter_op_num_threads = 1
    # ORT's idle intra-op threads spin after a run by default. Our runs alternate between two
    # sessions (lungs, classifier) with Python work between them, and on 2 cores the spinning
    # threads of one slow the other: `cxr predict` of 64 films took 0.82x the time without spinning
    # (benchmarks/bench_ort_spinning.py). CXR_ORT_SPIN=1 restores ORT's default.
    if os.environ.get("CXR_ORT_SPIN", "0") != "1":
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.log_severity_level = 3  # errors only: ORT's warnings are about its own graph rewrites
    try:
        session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    except Exception as exc:  # ORT raises its own exception types for a malformed graph
        raise ModelFormatError(f"{path.name} cannot be loaded by ONNX Runtime: {exc}") from exc
    meta = session.get_modelmeta().custom_metadata_map
    if meta.get(GRAPH_WEIGHTS_KEY) != weights_sha256 or meta.get(GRAPH_SETTINGS_KEY) != settings_sha256:
        raise ModelIntegrityError(f"{path.name} was not exported from this directory's weights and settings; "
                                  "refusing to load it (export it again)")
    return session


class OnnxLungSegmenter:
    """lung_model.LungSegmenter's segment(), on lungs.onnx."""

    def __init__(self, session: ort.InferenceSession, config: LungModelConfig) -> None:
        self.session = session
        self.config = config
        self.weights_sha256 = config.files[LUNG_WEIGHTS_FILE]

    @classmethod
    def from_dir(cls, directory: str | Path) -> OnnxLungSegmenter:
        directory = Path(directory)
        config, digest = verified_lung_config_and_digest(directory)
        if LUNG_RUNTIME_FILE not in config.files:
            raise ModelFileMissingError(f"{directory} has no {LUNG_RUNTIME_FILE} (export it with onnx_export)")
        session = _session(directory / LUNG_RUNTIME_FILE, config.files[LUNG_WEIGHTS_FILE], digest)
        return cls(session, config)

    def probability(self, batch: np.ndarray) -> np.ndarray:
        """float32 (N, 1, S, S) model inputs -> (N, S, S) lung probabilities."""
        return self.session.run(None, {INPUT_NAME: np.ascontiguousarray(batch, dtype=np.float32)})[0]

    def segment(self, image: LoadedImage) -> LungResult:
        pre = preprocess(image, self.config.preprocessing)
        return lung_result(self.probability(pre.array[None])[0], pre.geometry)


class OnnxPredictor:
    """predictor.Predictor's inference API on model.onnx: probabilities, OOD flag, CAM maps."""

    device = "cpu"

    def __init__(self, session: ort.InferenceSession, config: ModelConfig,
                 segmenter: OnnxLungSegmenter | None = None) -> None:
        self.session = session
        self.config = config
        self.labels: tuple[str, ...] = tuple(config.labels)
        self.segmenter = segmenter  # set when the model's input is cropped to the lung fields

    @classmethod
    def from_dir(cls, path: str | Path, lung_dir: str | Path | None = None, threads: int | None = None) -> OnnxPredictor:
        """``threads``: ONNX Runtime's intra-op threads (default: every CPU this process may use)."""
        directory = Path(path)
        config, digest = verified_model_config(directory)
        if RUNTIME_FILE not in config.files:
            raise ModelFileMissingError(f"{CONFIG_FILE} lists no {RUNTIME_FILE} (export it with onnx_export)")
        session = _session(directory / RUNTIME_FILE, config.files[WEIGHTS_FILE], digest, threads)
        segmenter = (required_segmenter(config, OnnxLungSegmenter.from_dir, lung_dir)
                     if config.preprocessing.lung_crop else None)
        return cls(session, config, segmenter)

    @property
    def needs_lungs(self) -> bool:
        return self.config.preprocessing.lung_crop

    def preprocess(self, image: LoadedImage, lungs: LungResult | None = None) -> Preprocessed:
        return model_input(image, self.config, lungs, self.segmenter)

    def predict_arrays(self, batch: np.ndarray) -> list[Prediction]:
        """``batch``: float32 (N, 1, S, S) from preprocess(), S = config.input_size."""
        logits, scores, _ = self._run(batch)
        return self._predictions(logits, scores)

    def predict_with_cam(self, batch: np.ndarray, targets: Sequence[int] | None, method: str):
        """(predictions, MapBatch, timings) for one batch; targets None: the predicted classes."""
        check_method(method)
        start = time.perf_counter()
        logits, scores, raw = self._run(batch)
        forward_done = time.perf_counter()
        classes = logits.argmax(axis=1) if targets is None else np.asarray(targets, dtype=np.int64)
        if len(classes) != len(batch) or np.any((classes < 0) | (classes >= len(self.labels))):
            raise ValueError(f"targets {list(classes)} do not fit {len(batch)} inputs and {len(self.labels)} classes")
        chosen = raw[np.arange(len(batch)), CAM_METHODS.index(method), classes]
        maps = normalise_and_resize(np.maximum(chosen, 0), tuple(batch.shape[-2:]))
        timings = {"forward_ms": (forward_done - start) * 1e3, "cam_ms": (time.perf_counter() - forward_done) * 1e3}
        return self._predictions(logits, scores), MapBatch(tuple(int(c) for c in classes), maps), timings

    def _run(self, batch: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        size = self.config.input_size
        if batch.ndim != 4 or batch.shape[1:] != (1, size, size):
            raise ValueError(f"expected a batch of shape (N, 1, {size}, {size}), got {batch.shape}")
        logits, scores, raw = self.session.run(None, {INPUT_NAME: np.ascontiguousarray(batch, dtype=np.float32)})
        return logits, scores, raw

    def _predictions(self, logits: np.ndarray, scores: np.ndarray) -> list[Prediction]:
        probabilities = calibrated_probabilities(logits, self.config.temperature)
        threshold = self.config.ood.threshold
        return [prediction_from(p, float(s), self.labels, threshold) for p, s in zip(probabilities, scores)]
