"""train_one_epoch and evaluate (torchvision references style)."""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from .cam_loss import cam_losses

log = logging.getLogger(__name__)


@dataclass
class EpochOutputs:
    logits: np.ndarray  # (N, C) float32
    labels: np.ndarray  # (N,) int64
    indices: np.ndarray  # (N,) int64, positions in the dataset
    features: np.ndarray | None = None  # (N, D) penultimate features


def _autocast(device: torch.device):
    # AMP on CUDA only: CPU autocast (bfloat16) is slower than fp32 on most CPUs.
    return torch.autocast(device_type="cuda", dtype=torch.float16, enabled=device.type == "cuda")


def _core(model: nn.Module) -> nn.Module:
    return model.module if hasattr(model, "module") else model


@dataclass(frozen=True)
class CamLossWeights:
    """Weights of training.cam_loss's terms in the training loss (0: off)."""

    lungs: float = 0.0
    infection: float = 0.0

    @property
    def enabled(self) -> bool:
        return self.lungs > 0 or self.infection > 0


def train_one_epoch(
    model: nn.Module,
    criterion: nn.Module,
    optimizer: torch.optim.Optimizer,
    loader,
    device: torch.device,
    epoch: int,
    start_stage: int = 0,
    frozen_stages: int = 0,
    scheduler=None,
    scaler: torch.amp.GradScaler | None = None,
    clip_grad_norm: float = 0.0,
    show_progress: bool = True,
    sample_weights: torch.Tensor | None = None,
    cam_weights: CamLossWeights | None = None,
) -> dict[str, float]:
    """One pass over ``loader``. ``start_stage``>0: inputs are cached feature maps.

    ``sample_weights`` (indexed by dataset position) needs a criterion with
    reduction="none"; the batch loss is then the weighted mean. ``cam_weights`` needs
    batches with masks (a fourth member, training.lung_masks): the Grad-CAM terms of
    training.cam_loss are added to the classification loss.

    Frozen stages (when not cached) run under no_grad in eval mode: no activations
    are kept for them, which is where most CPU time and memory would go.
    """
    model.train()
    core = _core(model)
    for stage in list(core.stages)[:frozen_stages]:
        stage.eval()
    cam = cam_weights if cam_weights is not None and cam_weights.enabled else None
    total_loss, seen, correct = 0.0, 0, 0
    cam_totals = {"outside_lungs": 0.0, "outside_infection": 0.0}
    bar = tqdm(loader, desc=f"epoch {epoch}", disable=not show_progress, leave=False, mininterval=2.0)
    for batch in bar:
        inputs, targets, indices = batch[0].to(device, non_blocking=True), batch[1].to(device, non_blocking=True), batch[2]
        start = start_stage
        with _autocast(device):
            if frozen_stages > start_stage:
                with torch.no_grad():
                    inputs = core.forward_stages(inputs, start_stage, frozen_stages)
                start = frozen_stages
            # through the DDP wrapper, so gradients sync
            output = model(inputs, start=start, with_activation=cam is not None)
            logits, activation = output if cam is not None else (output, None)
            loss = criterion(logits.float(), targets)
            if sample_weights is not None:
                weights = sample_weights[indices.to(sample_weights.device)]
                loss = (loss * weights).sum() / weights.sum()
            classification_loss = loss
            if cam is not None:
                if len(batch) < 4:
                    raise ValueError("the CAM losses need a data set with lung masks")
                terms = cam_losses(activation, core.classifier.weight, targets, batch[3].to(device))
                loss = loss + cam.lungs * terms["outside_lungs"] + cam.infection * terms["outside_infection"]
                for name, value in terms.items():
                    cam_totals[name] += value.item() * len(targets)
        if not math.isfinite(loss.item()):
            raise FloatingPointError(f"loss became {loss.item()} at epoch {epoch}; lower --lr")
        optimizer.zero_grad(set_to_none=True)
        _backward_step(loss, optimizer, model, scaler, clip_grad_norm)
        if scheduler is not None:
            scheduler.step()
        total_loss += classification_loss.item() * len(targets)
        seen += len(targets)
        correct += int((logits.argmax(1) == targets).sum())
        bar.set_postfix(loss=f"{total_loss / seen:.4f}", lr=f"{optimizer.param_groups[0]['lr']:.2e}")
    stats = {"loss": total_loss / max(seen, 1), "accuracy": correct / max(seen, 1), "images": seen}
    if cam is not None:
        stats.update({name: value / max(seen, 1) for name, value in cam_totals.items()})
    return stats


def _backward_step(loss, optimizer, model, scaler, clip_grad_norm: float) -> None:
    if scaler is not None and scaler.is_enabled():
        scaler.scale(loss).backward()
        if clip_grad_norm > 0:
            scaler.unscale_(optimizer)
            nn.utils.clip_grad_norm_([p for p in model.parameters() if p.requires_grad], clip_grad_norm)
        scaler.step(optimizer)
        scaler.update()
        return
    loss.backward()
    if clip_grad_norm > 0:
        nn.utils.clip_grad_norm_([p for p in model.parameters() if p.requires_grad], clip_grad_norm)
    optimizer.step()


@torch.inference_mode()
def evaluate(
    model: nn.Module,
    loader,
    device: torch.device,
    start_stage: int = 0,
    with_features: bool = False,
    show_progress: bool = True,
    desc: str = "eval",
) -> EpochOutputs:
    core = _core(model)
    core.eval()
    logits, labels, indices, features = [], [], [], []
    for inputs, targets, idx in tqdm(loader, desc=desc, disable=not show_progress, leave=False, mininterval=2.0):
        with _autocast(device):
            out, feats = core.forward_with_features(inputs.to(device, non_blocking=True), start_stage)
        logits.append(out.float().cpu())
        labels.append(targets)
        indices.append(idx)
        if with_features:
            features.append(feats.float().cpu())
    return EpochOutputs(
        logits=torch.cat(logits).numpy() if logits else np.zeros((0, 0), np.float32),
        labels=torch.cat(labels).numpy() if labels else np.zeros(0, np.int64),
        indices=torch.cat(indices).numpy() if indices else np.zeros(0, np.int64),
        features=torch.cat(features).numpy() if with_features and features else None,
    )
