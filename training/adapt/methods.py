"""The candidate adaptations. Each takes the base model and cached features, returns a new model.

Only the tail after ``split_stage`` ever changes; when fine-tuning changes the OOD tap
stage, the adapted model keeps the base model's copy of it for the OOD descriptor, so
the descriptor stays the base model's. Classes the site has no images of cannot be learned there: unless source
images are mixed in, their classifier rows stay exactly as they were.

* ``recalibrate``: a temperature and a per-class bias on the base logits (prior shift).
* ``linear``: a new linear head on the frozen pooled features, pulled toward the old one.
* ``finetune``: the stages after the split and the head, trained on augmented views
  with L2-SP (Li et al. 2018: a penalty on the distance to the base weights instead of
  to zero) and, when given, source images mixed in so the old classes are not forgotten
  (a fresh subset of a larger pool each epoch: a small pool seen every epoch is memorised).
"""

from __future__ import annotations

import copy
import logging
import math
from collections.abc import Callable, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from cxrviewer.model.architectures import CxrClassifier

from .features import FeatureSet, ood_stage, split_stage

log = logging.getLogger("training.adapt")

Progress = Callable[..., None]


@torch.inference_mode()
def tail_logits(model: CxrClassifier, maps: np.ndarray, batch_size: int = 128) -> np.ndarray:
    """Logits of cached maps (one view) through the model's tail."""
    model.eval()
    start = split_stage(model)
    out = [model(torch.from_numpy(np.asarray(maps[i:i + batch_size], dtype=np.float32)), start=start)
           for i in range(0, len(maps), batch_size)]
    return torch.cat(out).numpy() if out else np.zeros((0, model.classifier.out_features), np.float32)


@torch.inference_mode()
def pooled_features(model: CxrClassifier, maps: np.ndarray, batch_size: int = 128) -> np.ndarray:
    model.eval()
    start = split_stage(model)
    out = [model.pool(model.forward_stages(torch.from_numpy(np.asarray(maps[i:i + batch_size], np.float32)), start))
           for i in range(0, len(maps), batch_size)]
    return torch.cat(out).numpy()


def balance_weights(labels: np.ndarray) -> np.ndarray:
    """Per-image weights giving every class present the same total weight (mean 1).

    The site's class mix is whatever its labellers had to hand; macro-F1 and
    sensitivity per class should not depend on it. The calibration step afterwards
    (temperature on out-of-fold logits) restores probabilities for the site's mix.
    """
    counts = np.bincount(labels, minlength=int(labels.max()) + 1).astype(np.float64)
    present = counts > 0
    per_class = np.zeros_like(counts)
    per_class[present] = len(labels) / (present.sum() * counts[present])
    return per_class[labels].astype(np.float32)


def _frozen_rows_mask(num_classes: int, present: Sequence[int], has_source: bool) -> torch.Tensor:
    """1 for classifier rows that may change: present classes, or all when source data is mixed in."""
    mask = torch.ones(num_classes) if has_source else torch.zeros(num_classes)
    mask[list(present)] = 1.0
    return mask


def recalibrate(model: CxrClassifier, site: FeatureSet, present: Sequence[int], **_) -> CxrClassifier:
    """Temperature T and bias b (present classes only) on the base logits, folded into the head."""
    logits = torch.from_numpy(tail_logits(model, site.views[0])).double()
    labels = torch.from_numpy(site.labels)
    mask = _frozen_rows_mask(logits.shape[1], present, False).double()
    log_t = torch.zeros(1, dtype=torch.float64, requires_grad=True)
    bias = torch.zeros(logits.shape[1], dtype=torch.float64, requires_grad=True)
    optimiser = torch.optim.LBFGS([log_t, bias], lr=0.5, max_iter=200, line_search_fn="strong_wolfe")

    def closure() -> torch.Tensor:
        optimiser.zero_grad()
        adjusted = logits / log_t.exp() + bias * mask
        loss = F.cross_entropy(adjusted, labels) + 1e-3 * (bias * mask).pow(2).sum()
        loss.backward()
        return loss

    optimiser.step(closure)
    temperature = float(log_t.detach().exp().clamp(0.05, 20.0))
    adapted = copy.deepcopy(model)
    with torch.no_grad():
        adapted.classifier.weight.div_(temperature)
        adapted.classifier.bias.div_(temperature).add_((bias.detach() * mask).float())
    return adapted


def linear_head(model: CxrClassifier, site: FeatureSet, present: Sequence[int], l2sp: float = 0.01,
                source: FeatureSet | None = None, **_) -> CxrClassifier:
    """Logistic regression on the pooled features of every view, started from and pulled toward the old head."""
    feats, labels, weights = _stack_views(model, site, source)
    w0 = model.classifier.weight.detach().double().clone()
    b0 = model.classifier.bias.detach().double().clone()
    weight, bias = w0.clone().requires_grad_(True), b0.clone().requires_grad_(True)
    mask = _frozen_rows_mask(len(b0), present, source is not None).double()
    x, y, sw = torch.from_numpy(feats).double(), torch.from_numpy(labels), torch.from_numpy(weights).double()
    optimiser = torch.optim.LBFGS([weight, bias], lr=0.5, max_iter=150, line_search_fn="strong_wolfe")

    def closure() -> torch.Tensor:
        optimiser.zero_grad()
        w = w0 + (weight - w0) * mask[:, None]
        b = b0 + (bias - b0) * mask
        loss = (F.cross_entropy(x @ w.T + b, y, reduction="none") * sw).sum() / sw.sum()
        loss = loss + l2sp * ((w - w0).pow(2).sum() + (b - b0).pow(2).sum())
        loss.backward()
        return loss

    optimiser.step(closure)
    adapted = copy.deepcopy(model)
    with torch.no_grad():
        adapted.classifier.weight.copy_((w0 + (weight - w0) * mask[:, None]).float())
        adapted.classifier.bias.copy_((b0 + (bias - b0) * mask).float())
    return adapted


def _stack_views(model, site: FeatureSet, source: FeatureSet | None):
    parts, labels, weights = [], [], []
    for group, share in ((site, 1.0), (source, 0.5)):
        if group is None or not len(group):
            continue
        per_image = share * (len(site) / len(group)) / len(group.views) * balance_weights(group.labels)
        for view in group.views:
            parts.append(pooled_features(model, view))
            labels.append(group.labels)
            weights.append(per_image)
    return np.concatenate(parts), np.concatenate(labels), np.concatenate(weights)


def finetune(model: CxrClassifier, site: FeatureSet, present: Sequence[int], l2sp: float = 0.01,
             source: FeatureSet | None = None, epochs: int = 30, lr: float = 1e-3, batch_size: int = 32,
             seed: int = 0, progress: Progress | None = None, start_from: str = "base",
             label_smoothing: float = 0.0, source_share: float = 0.5, source_per_epoch: int | None = None,
             max_steps: int | None = None, **_) -> CxrClassifier:
    """Train the stages after the split and the head on augmented views, with L2-SP and source mixing.

    ``start_from="linear"``: begin from linear_head's fit (LP-FT); L2-SP then pulls toward that start.
    ``source_per_epoch``: each epoch mixes in a fresh random subset of that many source images
    (default: all of them every epoch), so a large source pool costs no more per epoch.
    ``max_steps``: fewer epochs when ``epochs`` of them would take more optimiser steps (large sites).
    """
    if start_from == "linear":
        adapted = linear_head(model, site, present, l2sp=l2sp, source=source)
    else:
        adapted = copy.deepcopy(model)
    start = split_stage(adapted)
    if start <= adapted.ood_tap:  # the tap stage is retrained: keep the base's copy for the OOD descriptor
        adapted.freeze_ood_stage(ood_stage(model))
    params = [p for stage in list(adapted.stages)[start:] for p in stage.parameters()]
    params += list(adapted.classifier.parameters())
    anchors = [p.detach().clone() for p in params]
    for p in adapted.parameters():
        p.requires_grad_(False)
    for p in params:
        p.requires_grad_(True)
    source = source if source is not None and len(source) else None
    mix = _Mix(site, source, source_share, source_per_epoch)
    mask = _frozen_rows_mask(adapted.classifier.out_features, present, source is not None)
    optimiser = torch.optim.AdamW(params, lr=lr, weight_decay=0.0)
    per_epoch = math.ceil(mix.size / batch_size)
    if max_steps is not None:
        epochs = max(1, min(epochs, max_steps // per_epoch))
    steps = epochs * per_epoch
    schedule = torch.optim.lr_scheduler.LambdaLR(optimiser, lambda s: 0.5 * (1 + math.cos(math.pi * min(s / steps, 1))))
    rng = np.random.default_rng(seed)
    # Dropout draws from torch's RNG: seeded (without touching the caller's RNG state) so that
    # a refit on the same images gives the same model; unseeded, two refits of one 100-image
    # draw differed by 0.01 macro-F1 on the site-shift benchmark.
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        for epoch in range(1, epochs + 1):
            loss = _finetune_epoch(adapted, mix.epoch(rng), params, anchors, mask, optimiser, schedule,
                                   l2sp, batch_size, start, rng, label_smoothing)
            if progress:
                progress("fine-tuning", epoch, epochs, epoch=f"{epoch}/{epochs}", loss=loss)
    for p in adapted.parameters():
        p.requires_grad_(True)
    if adapted.ood_stage is not None:
        adapted.ood_stage.requires_grad_(False)
    return adapted.eval()


class _Mix:
    """The images of one fine-tuning epoch: every site image, and all or a fresh subset of the source images.

    Weights: every site class present the same total; the source images together
    ``source_share`` of the site's total, their classes balanced too.
    """

    def __init__(self, site: FeatureSet, source: FeatureSet | None, share: float, per_epoch: int | None) -> None:
        self.site, self.source, self.share = site, source, share
        self.per_epoch = None if source is None or per_epoch is None or per_epoch >= len(source) else per_epoch
        self.site_weights = balance_weights(site.labels)

    @property
    def size(self) -> int:
        extra = 0 if self.source is None else self.per_epoch or len(self.source)
        return len(self.site) + extra

    def epoch(self, rng: np.random.Generator) -> _EpochData:
        if self.source is None:
            return _EpochData([(self.site, np.arange(len(self.site)))], self.site.labels, self.site_weights)
        chosen = np.arange(len(self.source))
        if self.per_epoch is not None:
            chosen = np.sort(rng.choice(len(self.source), self.per_epoch, replace=False))
        labels = self.source.labels[chosen]
        weights = self.share * len(self.site) / len(chosen) * balance_weights(labels)
        return _EpochData([(self.site, np.arange(len(self.site))), (self.source, chosen)],
                          np.concatenate([self.site.labels, labels]),
                          np.concatenate([self.site_weights, weights]).astype(np.float32))


class _EpochData:
    """Items of several FeatureSets (each with its own number of views) as one indexable list."""

    def __init__(self, parts: list[tuple[FeatureSet, np.ndarray]], labels: np.ndarray, weights: np.ndarray) -> None:
        self.parts, self.labels, self.weights = parts, labels, weights
        self.part_of = np.concatenate([np.full(len(index), k) for k, (_, index) in enumerate(parts)])
        self.row_of = np.concatenate([index for _, index in parts])
        self.views_of = np.array([len(parts[k][0].views) for k in self.part_of])

    def __len__(self) -> int:
        return len(self.labels)

    def maps(self, items: np.ndarray, views: np.ndarray) -> np.ndarray:
        return np.stack([self.parts[self.part_of[i]][0].views[views[i]][self.row_of[i]] for i in items])


def _finetune_epoch(model, data: _EpochData, params, anchors, mask, optimiser, schedule,
                    l2sp: float, batch_size: int, start: int, rng: np.random.Generator,
                    label_smoothing: float = 0.0) -> float:
    _train_mode_without_bn(model)
    order = rng.permutation(len(data))
    view_of = rng.integers(data.views_of)
    total, seen = 0.0, 0
    for begin in range(0, len(order), batch_size):
        index = np.sort(order[begin:begin + batch_size])
        x = torch.from_numpy(data.maps(index, view_of).astype(np.float32))
        y = torch.from_numpy(data.labels[index])
        w = torch.from_numpy(data.weights[index])
        loss = (F.cross_entropy(model(x, start=start), y, reduction="none", label_smoothing=label_smoothing)
                * w).sum() / w.sum()
        pull = sum((p - a).pow(2).sum() for p, a in zip(params, anchors))
        optimiser.zero_grad(set_to_none=True)
        (loss + l2sp * pull).backward()
        model.classifier.weight.grad.mul_(mask[:, None])
        model.classifier.bias.grad.mul_(mask)
        nn.utils.clip_grad_norm_(params, 1.0)
        optimiser.step()
        schedule.step()
        total += loss.item() * len(index)
        seen += len(index)
    return total / max(seen, 1)


def _train_mode_without_bn(model: nn.Module) -> None:
    """Dropout on, batch norm kept on the base statistics (a few dozen images per batch would wreck them)."""
    model.train()
    for module in model.modules():
        if isinstance(module, nn.modules.batchnorm._BatchNorm):
            module.eval()


METHOD_FUNCTIONS = {"recalibrate": recalibrate, "linear": linear_head, "finetune": finetune}
