"""The three CAM formulas, on torch tensors (activations A and gradients G, both N x C x H x W).

They follow the papers and match the ``pytorch_grad_cam`` reference library
(tests/inference/test_cam_reference.py checks it):

* Grad-CAM (Selvaraju et al. 2017): channel weights = spatial mean of G.
* Grad-CAM++ (Chattopadhay et al. 2018, eq. 19): weights = sum of relu(G) * alpha,
  alpha = G^2 / (2 G^2 + sum(A) G^3), zero where G is zero.
* HiResCAM (Draelos & Carin 2020): the element-wise product G * A summed over
  channels, which is faithful to the score for models ending in global pooling.

Each returns the raw map (N x H x W) before the ReLU and normalisation.
"""

from __future__ import annotations

import torch

from .cam_options import CAM_METHODS, GRADCAM, GRADCAM_PLUS_PLUS, HIRESCAM, check_method

__all__ = ["CAM_METHODS", "check_method", "gradcam", "gradcam_plus_plus", "hirescam", "raw_cam",
           "raw_cam_uniform_gradient"]

_PLUS_PLUS_EPS = 1e-6  # the reference library's epsilon, kept for identical maps


def gradcam(activations: torch.Tensor, grads: torch.Tensor) -> torch.Tensor:
    weights = grads.mean(dim=(2, 3), keepdim=True)
    return (weights * activations).sum(dim=1)


def gradcam_plus_plus(activations: torch.Tensor, grads: torch.Tensor) -> torch.Tensor:
    grads_2 = grads.pow(2)
    grads_3 = grads_2 * grads
    sum_activations = activations.sum(dim=(2, 3), keepdim=True)
    alpha = grads_2 / (2 * grads_2 + sum_activations * grads_3 + _PLUS_PLUS_EPS)
    alpha = torch.where(grads != 0, alpha, torch.zeros_like(alpha))
    weights = (grads.clamp_min(0) * alpha).sum(dim=(2, 3), keepdim=True)
    return (weights * activations).sum(dim=1)


def hirescam(activations: torch.Tensor, grads: torch.Tensor) -> torch.Tensor:
    return (grads * activations).sum(dim=1)


_FORMULAS = {GRADCAM: gradcam, GRADCAM_PLUS_PLUS: gradcam_plus_plus, HIRESCAM: hirescam}


def raw_cam(method: str, activations: torch.Tensor, grads: torch.Tensor) -> torch.Tensor:
    return _FORMULAS[check_method(method)](activations, grads)


def raw_cam_uniform_gradient(method: str, activations: torch.Tensor, class_grads: torch.Tensor) -> torch.Tensor:
    """raw_cam of every class at once where each class's gradient is the same at every position.

    ``activations`` N x K x H x W, ``class_grads`` C x K (the gradient of class c's score with
    respect to channel k, at any position); returns N x C x H x W. This is the case of a CAM
    layer followed only by global average pooling and a linear head (onnx_export.py). The
    formulas above then reduce to per-channel weights and one matrix product, instead of
    materialising the gradient at every position for every class (C x K x H x W per image:
    half the ONNX graph's time at output stride 16).
    """
    method = check_method(method)
    n, k, h, w = activations.shape
    flat = activations.reshape(n, k, h * w)
    if method in (GRADCAM, HIRESCAM):  # spatial mean of a constant; G * A summed over channels: the same
        return torch.matmul(class_grads, flat).reshape(n, -1, h, w)
    grads = class_grads[None]  # 1 x C x K
    grads_2 = grads.pow(2)
    grads_3 = grads_2 * grads
    sum_activations = activations.sum(dim=(2, 3))[:, None, :]  # N x 1 x K
    alpha = grads_2 / (2 * grads_2 + sum_activations * grads_3 + _PLUS_PLUS_EPS)
    alpha = torch.where(grads != 0, alpha, torch.zeros_like(alpha))
    weights = grads.clamp_min(0) * alpha * (h * w)  # the spatial sum of a constant
    return torch.matmul(weights, flat).reshape(n, -1, h, w)
