"""Write a model directory's classifier and lung model as ONNX graphs, for ONNX Runtime on the CPU.

The viewer and ``cxr predict`` run these graphs without importing torch (3 s of the
viewer's start-up on 2 cores, onnx_runtime.py); the safetensors weights stay the
source of truth, and each graph records their sha256 and the settings digest in its
metadata, so a graph exported from other weights is refused at load.

What the classifier graph computes, from the grayscale model input ``image`` (N, 1, S, S):

* ``logits`` (N, C): as the torch model (calibration stays outside, in model.json);
* ``ood_score`` (N,): the Mahalanobis score of the OOD descriptor (MahalanobisOOD.score);
* ``cam_raw`` (N, M, C, h, w): the raw map of every CAM method (cam_options.CAM_METHODS
  order) for every class, before the ReLU, computed by cam_methods' own formulas.

The CAM target layer is the last stage, followed only by global average pooling,
dropout (identity in eval) and the linear classifier, so the gradient of class c's logit
with respect to that activation is the same at every position: W[c] / (h * w). The
graph feeds that gradient to the formulas; no backward pass is needed.
tests/inference/test_onnx_runtime.py checks the maps against the autograd ones.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import io
import logging
import warnings
from pathlib import Path

import numpy as np
import torch
from torch import nn

from cxrviewer.atomic_files import atomic_write_bytes

from .architectures import CxrClassifier
from .cam_methods import raw_cam_uniform_gradient
from .cam_options import CAM_METHODS
from .config import CONFIG_FILE, RUNTIME_FILE, WEIGHTS_FILE, ModelConfig
from .lung_config import LUNG_CONFIG_FILE, LUNG_RUNTIME_FILE, LUNG_WEIGHTS_FILE, LungModelConfig
from .lung_model import LungSegmenter
from .model_files import GRAPH_SETTINGS_KEY, GRAPH_WEIGHTS_KEY, settings_digest
from .ood import MahalanobisOOD

log = logging.getLogger(__name__)

OPSET = 17
INPUT_NAME = "image"
CLASSIFIER_OUTPUTS = ("logits", "ood_score", "cam_raw")
LUNG_OUTPUTS = ("lung_probability",)


class ClassifierGraph(nn.Module):
    """Logits, OOD score and every raw CAM map from one forward pass (what the graph exports)."""

    def __init__(self, model: CxrClassifier, ood: MahalanobisOOD) -> None:
        super().__init__()
        self.model = model.eval()
        self.register_buffer("class_means", ood.class_means.detach().clone())
        self.register_buffer("precision", ood.precision.detach().clone())

    def forward(self, image: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        logits, descriptor, activation = self.model.forward_with_features(image, with_activation=True)
        score = MahalanobisOOD(self.class_means, self.precision).score(descriptor)
        return logits, score, self.raw_maps(activation)

    def raw_maps(self, activation: torch.Tensor) -> torch.Tensor:
        # d logit_c / d activation = W[c] / (h w) everywhere (global average pooling, then linear).
        h, w = activation.shape[-2:]
        class_grads = self.model.classifier.weight / (h * w)  # (C, K)
        maps = [raw_cam_uniform_gradient(method, activation, class_grads) for method in CAM_METHODS]
        return torch.stack(maps, dim=1)


class LungGraph(nn.Module):
    def __init__(self, segmenter: LungSegmenter) -> None:
        super().__init__()
        self.net = segmenter.net.eval()

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.net(image))[:, 0]


def add_runtime_graph(directory: str | Path) -> bool:
    """Export model.onnx when this installation can; False (logged) when it cannot.

    The graph only makes the model start and run faster (the torch path runs a
    directory without one), so a missing ``onnx`` package or a failed export is a
    warning, never the end of a training run.
    """
    if importlib.util.find_spec("onnx") is None:
        log.warning("onnx is not installed: %s gets no ONNX graph and will run on PyTorch", directory)
        return False
    try:
        export_classifier(directory)
    except Exception as exc:  # noqa: BLE001 - the export is an optimisation; the model directory stands
        log.warning("no ONNX graph for %s (%s): it will run on PyTorch", directory, exc)
        return False
    return True


def exportable(model: CxrClassifier, config: ModelConfig) -> bool:
    """A CxrClassifier whose CAM layer is its last stage (the closed-form gradient above)."""
    return isinstance(model, CxrClassifier) and config.cam_target_layer == model.cam_target_layer


def export_classifier(directory: str | Path) -> ModelConfig:
    """Add model.onnx to a verified model directory (and its sha256 to model.json)."""
    from .predictor import Predictor

    directory = Path(directory)
    predictor = Predictor.from_dir(directory, device="cpu")
    config = predictor.config
    if not exportable(predictor.model, config):
        raise ValueError(f"{config.architecture} with CAM layer {config.cam_target_layer} has no ONNX form")
    graph = ClassifierGraph(predictor.model, predictor.ood)
    size = config.input_size
    dynamic = {INPUT_NAME: {0: "batch"}, **{name: {0: "batch"} for name in CLASSIFIER_OUTPUTS}}
    data = _export(graph, _probe_images(size), CLASSIFIER_OUTPUTS, dynamic,
                   {GRAPH_WEIGHTS_KEY: config.files[WEIGHTS_FILE], GRAPH_SETTINGS_KEY: settings_digest(config),
                    "cxrviewer.cam_methods": ",".join(CAM_METHODS)})
    return _add_file(directory, CONFIG_FILE, ModelConfig, RUNTIME_FILE, data)


def export_lung_model(directory: str | Path) -> LungModelConfig:
    """Add lungs.onnx to a verified lung model directory (and its sha256 to lungs.json)."""
    directory = Path(directory)
    segmenter = LungSegmenter.from_dir(directory)
    size = segmenter.config.preprocessing.input_size
    dynamic = {INPUT_NAME: {0: "batch"}, LUNG_OUTPUTS[0]: {0: "batch"}}
    data = _export(LungGraph(segmenter), _probe_images(size), LUNG_OUTPUTS, dynamic,
                   {GRAPH_WEIGHTS_KEY: segmenter.config.files[LUNG_WEIGHTS_FILE],
                    GRAPH_SETTINGS_KEY: settings_digest(segmenter.config)})
    return _add_file(directory, LUNG_CONFIG_FILE, LungModelConfig, LUNG_RUNTIME_FILE, data)


def _export(module: nn.Module, example: torch.Tensor, outputs, dynamic: dict, metadata: dict[str, str]) -> bytes:
    import onnx

    module.eval()  # batch-norm statistics and no dropout, in the graph and in the check below
    buffer = io.BytesIO()
    with warnings.catch_warnings(), torch.no_grad():
        # The TorchScript exporter is deprecated in favour of the dynamo one, which needs
        # onnxscript and does not export these models' Einsum: it is used on purpose.
        warnings.simplefilter("ignore")
        torch.onnx.export(module, (example,), buffer, input_names=[INPUT_NAME], output_names=list(outputs),
                          dynamic_axes=dynamic, opset_version=OPSET, dynamo=False)
    graph = onnx.load_from_string(buffer.getvalue())
    for key, value in metadata.items():
        graph.metadata_props.add(key=key, value=value)
    onnx.checker.check_model(graph)
    data = graph.SerializeToString()
    _check_same_outputs(module, data, example, outputs)
    return data


def _probe_images(size: int) -> torch.Tensor:
    """Three smooth grey images (not all zeros, whose maps and scores are degenerate)."""
    rng = np.random.default_rng(0)
    coarse = torch.from_numpy(rng.random((3, 1, 8, 8), dtype=np.float32))
    return torch.nn.functional.interpolate(coarse, size=(size, size), mode="bilinear")


def _check_same_outputs(module: nn.Module, data: bytes, example: torch.Tensor, outputs) -> None:
    """The graph must give the torch module's outputs (to float rounding) before it is written."""
    if importlib.util.find_spec("onnxruntime") is None:
        return
    import onnxruntime as ort

    session = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
    with torch.no_grad():
        expected = module(example)
    expected = expected if isinstance(expected, tuple) else (expected,)
    got = session.run(None, {INPUT_NAME: example.numpy()})
    for name, want, have in zip(outputs, expected, got):
        want = want.numpy()
        scale = float(np.abs(want).max()) or 1.0
        if want.shape != have.shape or float(np.abs(want - have).max()) > 1e-4 * scale + 1e-6:
            raise RuntimeError(f"the exported graph's {name} differs from the torch model's; not written")


def _add_file(directory: Path, config_name: str, config_type, name: str, data: bytes):
    """Write ``name`` atomically, then record its sha256 in the directory's JSON (also atomically)."""
    import hashlib

    atomic_write_bytes(directory / name, data)
    config = config_type.from_json((directory / config_name).read_text(encoding="utf-8"))
    config = dataclasses.replace(config, files={**config.files, name: hashlib.sha256(data).hexdigest()})
    atomic_write_bytes(directory / config_name, config.to_json().encode("utf-8"))
    log.info("wrote %s (%.1f MB)", directory / name, len(data) / 1e6)
    return config


def export_model_dirs(*directories: str | Path) -> None:
    """Export each directory: a classifier (model.json) or a lung model (lungs.json)."""
    for directory in map(Path, directories):
        if (directory / CONFIG_FILE).is_file():
            export_classifier(directory)
        elif (directory / LUNG_CONFIG_FILE).is_file():
            export_lung_model(directory)
        else:
            raise FileNotFoundError(f"{directory} is neither a model nor a lung model directory")
