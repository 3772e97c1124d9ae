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
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from .lung_masks import INFECTION, LUNG


def class_maps(activation: torch.Tensor, classifier_weight: torch.Tensor, classes: torch.Tensor) -> torch.Tensor:
    """(N, K, h, w) CAM-layer output, (C, K) head weights, (N,) classes -> (N, h, w) Grad-CAM maps."""
    return torch.relu(torch.einsum("nk,nkhw->nhw", classifier_weight[classes], activation))


def mass_inside(maps: torch.Tensor, shares: torch.Tensor) -> torch.Tensor:
    """(N, h, w) maps, (N, G, G) per-cell mask shares -> (N,) share of each normalised map inside."""
    flat = maps.flatten(1)
    low, high = flat.min(1).values, flat.max(1).values
    normalised = (maps - low[:, None, None]) / (high - low + 1e-7)[:, None, None]
    resized = F.interpolate(normalised[:, None], size=shares.shape[-2:], mode="bilinear", align_corners=False)[:, 0]
    return (resized * shares).flatten(1).sum(1) / (resized.flatten(1).sum(1) + 1e-7)


def cam_losses(activation: torch.Tensor, classifier_weight: torch.Tensor, targets: torch.Tensor,
               masks: torch.Tensor) -> dict[str, torch.Tensor]:
    """``outside_lungs`` and ``outside_infection`` (images with a drawn infected region), both for the true class.

    ``masks``: (N, 2, G, G) lung and infection shares (training.lung_masks.on_model_grid).
    """
    maps = class_maps(activation.float(), classifier_weight.float(), targets)
    zero = maps.sum() * 0.0  # keeps the graph (and DDP's bookkeeping) when no image counts
    lungs = masks[:, LUNG]
    has_lungs = lungs.flatten(1).sum(1) > 0
    losses = {"outside_lungs": (1 - mass_inside(maps[has_lungs], lungs[has_lungs])).mean() if has_lungs.any() else zero}
    infected = masks[:, INFECTION].flatten(1).sum(1) > 0
    region = masks[infected, INFECTION]
    losses["outside_infection"] = (1 - mass_inside(maps[infected], region)).mean() if infected.any() else zero
    return losses
