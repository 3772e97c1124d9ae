"""Bare baselines that do the same work as cxrviewer's code, for the benchmark scripts.

Each baseline is what someone would write with pydicom, OpenCV and plain PyTorch to get
the same answer, so a benchmark's ratio measures our overhead and nothing else:

* ``pydicom_decode(path, plugin)``: ``dcmread`` + ``pixel_array`` with a given decoding
  plugin; ``loader_plugin(path)`` names the plugin ``load_image`` decodes that file with,
  ``pydicom_default_plugin(path)`` the one pydicom picks by itself (GDCM first), so the
  loader's overhead and the codec choice can be reported apart.
* ``BareCamPath``: a decoded image (or a file) -> probabilities, the OOD distance and a
  Grad-CAM map at full resolution (optionally the lung mask too), with the model's weights
  frozen and the gradient taken from the logit to the CAM layer only
  (``torch.autograd.grad(logit, activation)``), preprocessing included. The model is a
  plain eager copy built from the model directory's weights, so optimisations of the
  engine's own model count for the engine.
* ``BareOnnxPath``: the same from the directory's ONNX graph (model.onnx) with a bare
  ``onnxruntime.InferenceSession``: the floor of the engine's ONNX Runtime path, so its
  ratio is the engine's own overhead (checks, geometry, lung cache, result objects).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import pydicom
import torch
from PIL import Image
from pydicom.pixels import apply_modality_lut, get_decoder
from pydicom.uid import UID

from cxrviewer.io.detect import sniff_kind
from cxrviewer.io.dicom_codecs import _plugins_to_try

NATIVE = "native"  # uncompressed pixel data: no plugin involved


def loader_plugin(path: Path) -> str:
    """The pydicom decoding plugin load_image uses first for this file (NATIVE when uncompressed)."""
    return _first_plugin(path, lambda tsuid: _plugins_to_try(tsuid, path)[0] or _pydicom_first(tsuid))


def pydicom_default_plugin(path: Path) -> str:
    """The plugin pydicom itself tries first on this file (its own order: GDCM first)."""
    return _first_plugin(path, _pydicom_first)


def _first_plugin(path: Path, choose: Callable[[UID], str]) -> str:
    """"pillow-image" for PNG/JPEG, NATIVE for uncompressed DICOM, else ``choose`` of the transfer syntax."""
    tsuid = _transfer_syntax(path)
    if tsuid is None:
        return "pillow-image"
    return choose(tsuid) if tsuid.is_compressed else NATIVE


def _pydicom_first(tsuid: UID) -> str:
    return get_decoder(tsuid).available_plugins[0]


def pydicom_decode(path: Path, plugin: str) -> np.ndarray:
    """A bare decode: Pillow for PNG/JPEG; for DICOM ``dcmread`` + ``pixel_array`` through ``plugin``."""
    if plugin == "pillow-image":
        with Image.open(path) as im:
            return np.asarray(im)
    ds = pydicom.dcmread(path, force=True)
    if plugin != NATIVE:
        ds.pixel_array_options(decoding_plugin=plugin)
    return ds.pixel_array


def _transfer_syntax(path: Path) -> UID | None:
    if sniff_kind(path) != "dicom":
        return None
    meta = pydicom.dcmread(path, force=True, stop_before_pixels=True).file_meta
    return UID(str(meta.TransferSyntaxUID))


# ---- the CAM path in bare PyTorch -------------------------------------------------------


def dicom_display_values(path: Path, plugin: str) -> tuple[np.ndarray, float, float, bool]:
    """pixels on the file's scale (Modality LUT), its first window (low, high), MONOCHROME1 or not."""
    ds = pydicom.dcmread(path, force=True)
    if plugin != NATIVE:
        ds.pixel_array_options(decoding_plugin=plugin)
    pixels = apply_modality_lut(ds.pixel_array, ds).astype(np.float32, copy=False)
    center, width = ds.get("WindowCenter"), ds.get("WindowWidth")
    if center is not None and width is not None:
        center = float(center[0] if isinstance(center, pydicom.multival.MultiValue) else center)
        width = float(width[0] if isinstance(width, pydicom.multival.MultiValue) else width)
        low, high = center - width / 2, center + width / 2
    else:
        low, high = (float(v) for v in np.percentile(pixels[::4, ::4], (0.5, 99.5)))
    return pixels, low, high, str(ds.get("PhotometricInterpretation", "")) == "MONOCHROME1"


def bare_model_input(grey: np.ndarray, size: int, equalize: bool = True, crop_border: bool = True):
    """uint8 grey film -> float32 (1, 1, S, S) tensor and where the content went (crop box, content box)."""
    h, w = grey.shape
    x0, y0, x1, y1 = 0, 0, w, h
    if crop_border:  # drop uniform border lines, as the shared preprocessing does
        row_std, col_std = line_stds(grey)
        rows, cols = np.flatnonzero(row_std > 4.0), np.flatnonzero(col_std > 4.0)
        if rows.size and rows[-1] + 1 - rows[0] >= h / 2:
            y0, y1 = int(rows[0]), int(rows[-1]) + 1
        if cols.size and cols[-1] + 1 - cols[0] >= w / 2:
            x0, x1 = int(cols[0]), int(cols[-1]) + 1
    crop = grey[y0:y1, x0:x1]
    scale = size / max(crop.shape)
    new_w, new_h = max(1, min(size, round(crop.shape[1] * scale))), max(1, min(size, round(crop.shape[0] * scale)))
    small = cv2.resize(crop, (new_w, new_h), interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
    if equalize:
        small = cv2.equalizeHist(small)
    canvas = np.zeros((size, size), dtype=np.uint8)
    left, top = (size - new_w) // 2, (size - new_h) // 2
    canvas[top:top + new_h, left:left + new_w] = small
    tensor = torch.from_numpy(canvas).float().div_(255.0)[None, None]
    return tensor, (x0, y0, x1, y1), (left, top, left + new_w, top + new_h)


def line_stds(grey: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Standard deviation of every row and every column (OpenCV sums in float64)."""
    values = grey.astype(np.float32)
    squares = cv2.multiply(values, values)  # exact in float32: at most 255 ** 2
    stds = []
    for axis in (1, 0):
        mean = cv2.reduce(values, axis, cv2.REDUCE_AVG, dtype=cv2.CV_64F)
        mean_square = cv2.reduce(squares, axis, cv2.REDUCE_AVG, dtype=cv2.CV_64F)
        stds.append(np.sqrt(np.maximum(mean_square - mean * mean, 0)).ravel())
    return stds[0], stds[1]


def window_to_grey(pixels: np.ndarray, low: float, high: float, inverted: bool) -> np.ndarray:
    gain = 255.0 / max(high - low, 1e-3)
    scaled = (high - pixels) * gain if inverted else (pixels - low) * gain
    return np.clip(scaled, 0, 255).astype(np.uint8)


def to_full_size(model_map: np.ndarray, shape: tuple[int, int], crop_box, content_box, dtype=np.float32) -> np.ndarray:
    """A model-grid map back onto the film: content box resized into the crop box, zeros elsewhere."""
    cx0, cy0, cx1, cy1 = content_box
    x0, y0, x1, y1 = crop_box
    out = np.zeros(shape, dtype=dtype)
    out[y0:y1, x0:x1] = cv2.resize(np.ascontiguousarray(model_map[cy0:cy1, cx0:cx1]), (x1 - x0, y1 - y0),
                                   interpolation=cv2.INTER_LINEAR)
    return out


class _FilmInput:
    """What both bare paths share: a decoded image or a DICOM file -> the grey film -> ``run_grey``."""

    size: int
    equalize: bool
    crop_border: bool

    def run_grey(self, grey: np.ndarray) -> dict:
        raise NotImplementedError

    def run_image(self, image) -> dict:
        """A cxrviewer LoadedImage (already decoded) through the bare path."""
        window = image.window
        return self.run_grey(window_to_grey(image.pixels, window.low, window.high, image.display_inverted))

    def run_file(self, path: Path, plugin: str) -> dict:
        """A DICOM file from disk: bare pydicom decode (``plugin``), Modality LUT, first window, then the path."""
        start = time.perf_counter()
        pixels, low, high, inverted = dicom_display_values(path, plugin)
        decoded = time.perf_counter()
        result = self.run_grey(window_to_grey(pixels, low, high, inverted))
        result["decode_ms"] = (decoded - start) * 1e3
        return result

    def input_of(self, image) -> torch.Tensor:
        window = image.window
        grey = window_to_grey(image.pixels, window.low, window.high, image.display_inverted)
        return bare_model_input(grey, self.size, self.equalize, self.crop_border)[0]


class BareCamPath(_FilmInput):
    """Plain PyTorch from a decoded film to probabilities, OOD distance and a full-size Grad-CAM map."""

    def __init__(self, model_dir: Path, with_lungs: bool = False) -> None:
        from cxrviewer.model.architectures import build_model
        from cxrviewer.model.model_dir import read_model_dir
        from cxrviewer.model.ood import MahalanobisOOD

        contents = read_model_dir(model_dir)
        config = contents.config
        model = build_model(config.architecture, len(config.labels), init=False)
        if config.ood.layer:
            model.set_ood_layer(config.ood.layer)
        if any(key.startswith("ood_stage.") for key in contents.state_dict):
            model.freeze_ood_stage()
        model.load_state_dict(contents.state_dict, strict=True)
        self.model = model.eval().requires_grad_(False)
        ood = MahalanobisOOD.from_tensors(contents.extra_tensors)
        self.class_means, self.precision = ood.class_means, ood.precision
        self.temperature = float(config.temperature)
        self.size = config.input_size
        self.equalize = config.preprocessing.intensity == "equalize"
        self.crop_border = config.preprocessing.crop_border
        layer = self.model.get_submodule(config.cam_target_layer)
        layer.register_forward_hook(self._capture)
        self.activation: torch.Tensor | None = None
        self.lungs = None
        if with_lungs:
            from cxrviewer.model.lung_model import LungSegmenter
            from cxrviewer.resources import bundled_lung_model_dir

            segmenter = LungSegmenter.from_dir(bundled_lung_model_dir())
            self.lungs = segmenter.net.eval().requires_grad_(False)
            self.lung_size = segmenter.config.preprocessing.input_size
            self.lung_equalize = segmenter.config.preprocessing.intensity == "equalize"

    def _capture(self, _module, _inputs, output: torch.Tensor) -> torch.Tensor | None:
        if not torch.is_grad_enabled():
            return None  # a forward without a CAM
        self.activation = output.detach().requires_grad_(True)  # a leaf: the gradient stops here
        return self.activation

    def run_grey(self, grey: np.ndarray) -> dict:
        x, crop_box, content_box = bare_model_input(grey, self.size, self.equalize, self.crop_border)
        with torch.enable_grad():
            logits, features = self.model.forward_with_features(x)
            best = int(logits[0].argmax())
            (grads,) = torch.autograd.grad(logits[0, best], self.activation)
        with torch.no_grad():
            probabilities = torch.softmax(logits / self.temperature, dim=1)[0].numpy()
            diffs = features.float()[:, None, :] - self.class_means[None]
            ood = torch.einsum("ncd,de,nce->nc", diffs, self.precision, diffs).clamp_min(0).min(1).values.sqrt()
            act = self.activation.detach()
            cam = torch.relu((grads.mean(dim=(2, 3), keepdim=True) * act).sum(dim=1))[0].numpy()
        self.activation = None
        cam = cam - cam.min()
        cam = cam / (cam.max() + 1e-7)
        cam = cv2.resize(cam, (self.size, self.size), interpolation=cv2.INTER_LINEAR)
        full = to_full_size(cam, grey.shape, crop_box, content_box)
        result = {"probabilities": probabilities, "ood": float(ood[0]), "cam": full}
        if self.lungs is not None:
            lx, lcrop, lcontent = bare_model_input(grey, self.lung_size, self.lung_equalize, True)
            with torch.inference_mode():
                mask = (torch.sigmoid(self.lungs(lx))[0, 0] > 0.5).numpy().astype(np.uint8) * 255
            full_mask = to_full_size(mask, grey.shape, lcrop, lcontent, dtype=np.uint8) > 127
            result["lungs"] = full_mask
            result["cam_in_lungs"] = float(full[full_mask].sum() / max(float(full.sum()), 1e-7))
        return result

    def run_without_cam(self, image) -> dict:
        """Probabilities and OOD distance only (inference mode), from a decoded image."""
        window = image.window
        grey = window_to_grey(image.pixels, window.low, window.high, image.display_inverted)
        x, _, _ = bare_model_input(grey, self.size, self.equalize, self.crop_border)
        return self.forward_batch(x)[0]

    def forward_batch(self, x: torch.Tensor) -> list[dict]:
        with torch.inference_mode():
            logits, features = self.model.forward_with_features(x)
            probabilities = torch.softmax(logits / self.temperature, dim=1).numpy()
            diffs = features.float()[:, None, :] - self.class_means[None]
            ood = torch.einsum("ncd,de,nce->nc", diffs, self.precision, diffs).clamp_min(0).min(1).values.sqrt()
        return [{"probabilities": p, "ood": float(o)} for p, o in zip(probabilities, ood.numpy())]



class BareOnnxPath(_FilmInput):
    """A bare ONNX Runtime session on model.onnx, from a decoded film to probabilities, OOD
    distance and the full-size Grad-CAM map of the predicted class (the graph's cam_raw)."""

    def __init__(self, model_dir: Path, threads: int, with_lungs: bool = False, spinning: bool = False) -> None:
        """``spinning``: ONNX Runtime's default, idle intra-op threads spin-waiting after a run.
        Off (as cxrviewer runs it), sessions that alternate in one process do not slow each
        other; on, it is the session as ONNX Runtime makes it by default."""
        import json

        import onnxruntime as ort

        def session(path: Path) -> ort.InferenceSession:
            options = ort.SessionOptions()
            options.intra_op_num_threads, options.inter_op_num_threads = threads, 1
            if not spinning:
                options.add_session_config_entry("session.intra_op.allow_spinning", "0")
            return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])

        config = json.loads((model_dir / "model.json").read_text())
        self.session = session(model_dir / "model.onnx")
        self.input_name = self.session.get_inputs()[0].name
        self.temperature = float(config["temperature"])
        self.size = int(config["input_size"])
        self.equalize = config["preprocessing"]["intensity"] == "equalize"
        self.crop_border = bool(config["preprocessing"]["crop_border"])
        self.lungs = None
        if with_lungs:
            from cxrviewer.resources import bundled_lung_model_dir

            lung_dir = bundled_lung_model_dir()
            lung_config = json.loads((lung_dir / "lungs.json").read_text())
            self.lungs = session(lung_dir / "lungs.onnx")
            self.lung_size = int(lung_config["preprocessing"]["input_size"])
            self.lung_equalize = lung_config["preprocessing"]["intensity"] == "equalize"

    def run_grey(self, grey: np.ndarray) -> dict:
        x, crop_box, content_box = bare_model_input(grey, self.size, self.equalize, self.crop_border)
        logits, ood, raw = self.session.run(None, {self.input_name: x.numpy()})
        best = int(logits[0].argmax())
        cam = np.maximum(raw[0, 0, best], 0)  # method 0: Grad-CAM
        cam = cam - cam.min()
        cam = cam / (cam.max() + 1e-7)
        cam = cv2.resize(cam, (self.size, self.size), interpolation=cv2.INTER_LINEAR)
        full = to_full_size(cam, grey.shape, crop_box, content_box)
        result = {"probabilities": _softmax(logits / self.temperature)[0], "ood": float(ood[0]), "cam": full}
        if self.lungs is not None:
            lx, lcrop, lcontent = bare_model_input(grey, self.lung_size, self.lung_equalize, True)
            probability = self.lungs.run(None, {self.lungs.get_inputs()[0].name: lx.numpy()})[0][0]
            mask = (probability > 0.5).astype(np.uint8) * 255
            full_mask = to_full_size(mask, grey.shape, lcrop, lcontent, dtype=np.uint8) > 127
            result["lungs"] = full_mask
            result["cam_in_lungs"] = float(full[full_mask].sum() / max(float(full.sum()), 1e-7))
        return result

    def run_without_cam(self, image) -> dict:
        return self.forward_batch(self.input_of(image))[0]

    def forward_batch(self, x: torch.Tensor) -> list[dict]:
        logits, ood, _ = self.session.run(None, {self.input_name: x.numpy()})
        probabilities = _softmax(logits / self.temperature)
        return [{"probabilities": p, "ood": float(o)} for p, o in zip(probabilities, ood)]



def _softmax(logits: np.ndarray) -> np.ndarray:
    shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)
