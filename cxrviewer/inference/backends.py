"""Which runtime runs the models: ONNX Runtime on the CPU when it can, PyTorch otherwise (no torch here).

ONNX Runtime (cxrviewer.model.onnx_runtime) needs no ``import torch`` (about 3 s of a
2-core workstation's start-up) and runs the forward pass in 0.75-0.84x the time of
PyTorch's fused CPU form; it is used when the model directory (and the lung model's)
carries an exported graph, onnxruntime is installed, and the work runs on the CPU.
PyTorch runs everything else: a GPU, a model without a graph, CXR_ENGINE=torch.

``device="auto"`` means "a GPU when there is one". Asking torch costs the import this
module exists to avoid, so torch is asked only where a GPU driver is installed (NVIDIA
or ROCm on Linux and Windows, Apple silicon's MPS); where torch then finds no usable
GPU (a CPU build of torch, a driver without a device), ONNX Runtime runs the model.
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
import os
import platform
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

from cxrviewer.model.onnx_runtime_files import lists_runtime_graph

log = logging.getLogger(__name__)

ENGINE_ENV = "CXR_ENGINE"  # "auto" (default), "onnx" or "torch"
FAST_FORWARD_ENV = "CXR_FAST_FORWARD"  # "0": run the torch model as loaded (troubleshooting, benchmarks)
ONNX, TORCH = "onnx", "torch"


@dataclass(frozen=True)
class Backend:
    predictor: object  # Predictor or OnnxPredictor: preprocess, predict_arrays, predict_with_cam
    segmenter: object | None  # LungSegmenter or OnnxLungSegmenter: segment(image)
    device: str  # "cpu", "cuda", "mps"
    device_name: str  # for people
    form: str  # how the classifier runs: "onnxruntime", "onednn-fused", ...


def choose(model_dir: Path, device: str, lung_dir: Path) -> str:
    wanted = os.environ.get(ENGINE_ENV, "auto").strip().lower() or "auto"
    if wanted not in ("auto", ONNX, TORCH):
        raise ValueError(f"{ENGINE_ENV} must be auto, onnx or torch, not {wanted!r}")
    if wanted == TORCH or os.environ.get(FAST_FORWARD_ENV, "1") == "0":
        return TORCH
    problem = _onnx_problem(model_dir, device, lung_dir)
    if problem and wanted == ONNX:
        raise ValueError(f"{ENGINE_ENV}=onnx, but {problem}")
    if problem:
        log.info("running the model on PyTorch: %s", problem)
    return TORCH if problem else ONNX


def _onnx_problem(model_dir: Path, device: str, lung_dir: Path) -> str:
    if device not in ("auto", "cpu"):
        return f"the device is {device}"
    if device == "auto" and gpu_driver_present() and _torch_backend().accelerator_available():
        return "a GPU is available"
    if importlib.util.find_spec("onnxruntime") is None:
        return "onnxruntime is not installed"
    if not lists_runtime_graph(model_dir):
        return f"{model_dir} has no exported ONNX graph"
    if lung_dir.is_dir() and not lists_runtime_graph(lung_dir):
        return f"the lung model {lung_dir} has no exported ONNX graph"
    return ""


def gpu_driver_present() -> bool:
    """A GPU torch could use is probably installed (no torch import)."""
    if sys.platform == "darwin":
        return platform.machine() == "arm64"  # Apple silicon: MPS
    if sys.platform.startswith("linux"):
        return any(os.path.exists(p) for p in ("/proc/driver/nvidia/version", "/dev/nvidiactl", "/dev/kfd"))
    if sys.platform == "win32":
        system = Path(os.environ.get("SystemRoot", r"C:\Windows")) / "System32"
        return shutil.which("nvidia-smi") is not None or (system / "nvcuda.dll").is_file()
    return False


def load(kind: str, model_dir: Path, device: str, lung_dir: Path) -> Backend:
    # By name, so that neither runtime is in this module's import graph: the ONNX path
    # never imports torch (import-linter checks it), and the torch path never onnxruntime.
    if kind == ONNX:
        return importlib.import_module(f"{__package__}.onnx_backend").load_onnx(model_dir, lung_dir)
    return _torch_backend().load_torch(model_dir, device, lung_dir)


def _torch_backend():
    return importlib.import_module(f"{__package__}.torch_backend")
