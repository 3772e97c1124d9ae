"""Grad-CAM, Grad-CAM++ and HiResCAM for cxrviewer models (no Qt).

Use
---
Most callers want ``explain``::

    pre = predictor.preprocess(image)                      # LoadedImage -> model input + Geometry
    cam = explain(predictor.model, pre, predictor.config.cam_target_layer,
                  method="gradcam", target=None, labels=predictor.labels)
    cam.model_map   # float32 (S, S) in [0, 1] over the model input (letterbox padding included)
    cam.full_map    # float32 (H, W) in [0, 1], pixel-aligned with image.pixels
    cam.class_index, cam.label   # the class explained (the predicted one when target is None)

``target`` is None (the predicted class), a class index, or a label. ``compute_cam``
is the batched core: one forward and one gradient pass for N inputs, returning
the logits and penultimate features too, so a caller (the inference engine) gets
probabilities, the OOD score and the map from a single forward pass.

How the map is made
-------------------
A forward hook (cam_hooks.capture_layer, removed on exit even after an error)
captures the target layer's activation A; the gradient G of the target class's
logit is taken with respect to A. The method formula (cam_methods) gives a raw
map; ReLU; min-max scaled to [0, 1] (the normalisation of pytorch_grad_cam);
bilinear resize to the input size. ``Geometry.map_to_source`` then undoes the
letterbox padding, the resize and the border crop, so the full-resolution map
lies on the anatomy it refers to; pixels the crop removed get 0. The full map
is NOT renormalised: if the model looked at the padding, its map is dim on the
image, which is what it should show.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from .cam_hooks import capture_layer, resolve_layer
from .cam_maps import Target, CamResult, cam_result, map_to_full_resolution, normalise_and_resize, resolve_target
from .cam_methods import raw_cam
from .cam_options import CAM_METHODS, GRADCAM, check_method
from .preprocess import Preprocessed

__all__ = ["CAM_METHODS", "CamBatch", "CamResult", "cam_result", "compute_cam", "explain", "map_to_full_resolution",
           "resolve_target"]



@dataclass(frozen=True, eq=False)
class CamBatch:
    """One forward + gradient pass over N inputs."""

    logits: torch.Tensor  # (N, C), detached
    features: torch.Tensor | None  # (N, D) penultimate features when the model exposes them
    class_indices: tuple[int, ...]  # the class each map explains
    maps: np.ndarray  # float32 (N, S, S) in [0, 1] at model-input resolution
    timings: dict[str, float]  # forward_ms, cam_ms (gradient + formula + resize)


def compute_cam(
    model: nn.Module,
    inputs: torch.Tensor,
    target_layer: str | nn.Module,
    method: str = GRADCAM,
    targets: int | Sequence[int] | None = None,
) -> CamBatch:
    """Maps for a batch (N, C, S, S) already on the model's device; targets: None = argmax."""
    check_method(method)
    if model.training:
        raise ValueError("Grad-CAM needs the model in eval mode (batch-norm statistics, no dropout)")
    layer = resolve_layer(model, target_layer)
    # The viewer's worker may call this inside an inference_mode() region.
    with torch.inference_mode(False), torch.enable_grad(), capture_layer(layer) as capture:
        start = time.perf_counter()
        logits, features = _forward(model, inputs)
        _sync(logits)
        forward_done = time.perf_counter()
        classes = _choose_classes(logits, targets)
        score = logits.gather(1, classes[:, None]).sum()  # samples are independent in eval mode
        activations = capture.require()
        (grads,) = torch.autograd.grad(score, activations)
        raw = raw_cam(method, activations.detach(), grads).clamp_min(0)
        maps = normalise_and_resize(raw.float().cpu().numpy(), tuple(inputs.shape[-2:]))
    timings = {"forward_ms": (forward_done - start) * 1e3, "cam_ms": (time.perf_counter() - forward_done) * 1e3}
    return CamBatch(
        logits=logits.detach(),
        features=None if features is None else features.detach(),
        class_indices=tuple(int(c) for c in classes.tolist()),
        maps=maps,
        timings=timings,
    )


def explain(
    model: nn.Module,
    preprocessed: Preprocessed,
    target_layer: str | nn.Module,
    method: str = GRADCAM,
    target: Target = None,
    labels: Sequence[str] = (),
) -> CamResult:
    """The map for one preprocessed image, on the model input and on the full image.

    Without ``labels`` the classes are named by their index and ``target`` must be an index.
    """
    if labels:
        index = resolve_target(target, labels)
    elif isinstance(target, str):
        raise ValueError(f"class {target!r} given by name, but no labels were passed")
    else:
        index = target  # compute_cam checks the range
    inputs = torch.from_numpy(preprocessed.array[None]).to(_model_device(model))
    batch = compute_cam(model, inputs, target_layer, method, index)
    names = tuple(labels) or tuple(str(i) for i in range(batch.logits.shape[1]))
    return cam_result(batch, 0, method, names, preprocessed.geometry)


def _forward(model: nn.Module, inputs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
    with_features = getattr(model, "forward_with_features", None)
    if with_features is not None:
        return with_features(inputs)
    return model(inputs), None


def _choose_classes(logits: torch.Tensor, targets: int | Sequence[int] | None) -> torch.Tensor:
    n, classes = logits.shape
    if targets is None:
        return logits.detach().argmax(dim=1)
    wanted = [int(targets)] * n if isinstance(targets, int) else [int(t) for t in targets]
    if len(wanted) != n:
        raise ValueError(f"{len(wanted)} targets for {n} inputs")
    if any(not 0 <= t < classes for t in wanted):
        raise ValueError(f"class index out of range for {classes} classes: {wanted}")
    return torch.tensor(wanted, device=logits.device, dtype=torch.long)


def _model_device(model: nn.Module) -> torch.device:
    parameter = next(model.parameters(), None)
    return parameter.device if parameter is not None else torch.device("cpu")


def _sync(tensor: torch.Tensor) -> None:
    """Make the forward timing honest on asynchronous devices."""
    if tensor.device.type == "cuda":
        torch.cuda.synchronize(tensor.device)
    elif tensor.device.type == "mps":
        torch.mps.synchronize()
