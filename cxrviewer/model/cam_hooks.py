"""Capture one layer's activation for Grad-CAM, leaving no hook behind.

The forward hook replaces the layer's output with a detached leaf tensor that
requires grad. Gradients are then taken with ``torch.autograd.grad`` against
that leaf, which is what a backward hook on the layer would see, but:

* no parameter ``.grad`` is written (the model is shared with the predictor,
  so nothing has to be zeroed and nothing leaks between requests);
* autograd walks only the part of the graph above the target layer;
* it works when the parameters are frozen (``requires_grad=False``) and with
  in-place activations after the layer, where module backward hooks fail
  (pytorch/pytorch#61519).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import torch
from torch import nn


@dataclass
class LayerCapture:
    """Filled during the forward pass that runs inside ``capture_layer``."""

    activation: torch.Tensor | None = None

    def require(self) -> torch.Tensor:
        if self.activation is None:
            raise RuntimeError("the CAM target layer did not run during the forward pass")
        return self.activation


@contextmanager
def capture_layer(layer: nn.Module) -> Iterator[LayerCapture]:
    """Register the capture hook; it is removed on exit, exceptions included."""
    capture = LayerCapture()

    def hook(_module: nn.Module, _inputs: tuple, output: object) -> torch.Tensor:
        if not isinstance(output, torch.Tensor) or output.ndim != 4:
            raise TypeError("the CAM target layer must output one (N, C, H, W) tensor")
        leaf = output.detach().requires_grad_(True)
        capture.activation = leaf
        return leaf

    handle = layer.register_forward_hook(hook)
    try:
        yield capture
    finally:
        handle.remove()
        capture.activation = None  # drop the graph with the tensor


def resolve_layer(model: nn.Module, target_layer: str | nn.Module) -> nn.Module:
    """A dotted submodule name (``stages.8``, as in model.json) or the module itself."""
    if isinstance(target_layer, nn.Module):
        return target_layer
    try:
        return model.get_submodule(target_layer)
    except AttributeError as exc:
        raise ValueError(f"the model has no layer {target_layer!r} for Grad-CAM") from exc
