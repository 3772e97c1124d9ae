"""Losses that teach the classifier where to look: its Grad-CAM mass inside the lungs.

A CxrClassifier ends in its CAM target layer, global average pooling and one linear
layer, so the Grad-CAM map of class c is, in eval mode, exactly ``relu(sum_k w_ck A_k)``
(the pooled gradient of logit c with respect to A_k is w_ck / HW, the same everywhere):
a map that costs one einsum and can be trained through without double backpropagation.

The map is scored the way the viewer shows it and ``cam_quality`` measures it: min-max
normalised, bilinearly resized (here to the masks' grid), then the share of its mass that
lies inside the mask. The losses are one minus that share, averaged over the images
that have a mask (a film where no lungs were found, a class without drawn infection,
counts for nothing).

Two choices, both from watching the loss fail (lungs/ experiment, weight 3): with the
ReLU of Grad-CAM, a map that goes all negative is all zero, scores "nothing inside" and
has no gradient, so maps died one by one and val cam_in_lungs fell from 0.76 after two
epochs to 0.56 after six; the loss therefore uses a leaky ReLU (``LOSS_SLOPE``), which
keeps a dead map's gradient and changes a live map's score very little. And the lung
term scores every class's map, not only the true class's: the viewer draws the predicted
class, which on a misread film is another one.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from .lung_masks import INFECTION, LUNG


LOSS_SLOPE = 0.05
RANGE_FLOOR = 1e-2


def all_class_maps(activation: torch.Tensor, classifier_weight: torch.Tensor, negative_slope: float = 0.0) -> torch.Tensor:
    """(N, K, h, w), (C, K) -> (N, C, h, w): every class's Grad-CAM map."""
    return F.leaky_relu(torch.einsum("ck,nkhw->nchw", classifier_weight, activation), negative_slope)


def mass_inside(maps: torch.Tensor, shares: torch.Tensor) -> torch.Tensor:
    """(N, h, w) maps, (N, G, G) per-cell mask shares -> (N,) share of each normalised map inside."""
    flat = maps.flatten(1)
    low, high = flat.min(1).values, flat.max(1).values
    # A floor on the range: a nearly flat map (early in training, or a class with no evidence
    # anywhere) would otherwise get gradients of 1 / range and blow the logits up; the first
    # epoch of a lungs/ experiment reached a cross-entropy of 16 that way with a floor of 1e-7.
    normalised = (maps - low[:, None, None]) / (high - low + RANGE_FLOOR)[:, None, None]
    resized = F.interpolate(normalised[:, None], size=shares.shape[-2:], mode="bilinear", align_corners=False)[:, 0]
    return (resized * shares).flatten(1).sum(1) / (resized.flatten(1).sum(1) + 1e-7)


def cam_losses(activation: torch.Tensor, classifier_weight: torch.Tensor, targets: torch.Tensor,
               masks: torch.Tensor) -> dict[str, torch.Tensor]:
    """``outside_lungs`` (every class's map) and ``outside_infection`` (the true class's, on images
    with a drawn infected region).

    ``masks``: (N, 2, G, G) lung and infection shares (training.lung_masks.on_model_grid).
    """
    maps = all_class_maps(activation.float(), classifier_weight.float(), LOSS_SLOPE)  # (N, C, h, w)
    zero = maps.sum() * 0.0  # keeps the graph (and DDP's bookkeeping) when no image counts
    lungs = masks[:, LUNG]
    has_lungs = lungs.flatten(1).sum(1) > 0
    classes = maps.shape[1]
    if has_lungs.any():
        inside = mass_inside(maps[has_lungs].flatten(0, 1), lungs[has_lungs].repeat_interleave(classes, 0))
        losses = {"outside_lungs": (1 - inside).mean()}
    else:
        losses = {"outside_lungs": zero}
    infected = masks[:, INFECTION].flatten(1).sum(1) > 0
    true_maps = maps[torch.arange(len(targets), device=maps.device), targets]
    region = masks[infected, INFECTION]
    losses["outside_infection"] = (1 - mass_inside(true_maps[infected], region)).mean() if infected.any() else zero
    return losses
