"""The lung-field segmenter: a model directory (safetensors + lungs.json + MODEL_CARD.md) and its use.

lung_config.py holds the settings and the directory's integrity check (no torch, so the
ONNX Runtime segmenter shares them); lung_fields.py judges the probability map. Weights
are kept as float16 (the model is shipped inside the app; half the size, no measurable
change in the masks) and run as float32.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import numpy as np
import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from cxrviewer.atomic_files import atomic_write_bytes, create_temp_beside
from cxrviewer.io.image import LoadedImage

from .errors import ModelFormatError
from .lung_config import (LUNG_CARD_FILE, LUNG_CONFIG_FILE, LUNG_FORMAT, LUNG_RUNTIME_FILE, LUNG_WEIGHTS_FILE,
                          LungModelConfig, verified_lung_config)
from .lung_fields import LungResult, lung_result
from .lung_net import LungUNet
from .model_files import SETTINGS_DIGEST_KEY, settings_digest, sha256_file
from .preprocess import PreprocessConfig, preprocess

__all__ = ["LUNG_CARD_FILE", "LUNG_CONFIG_FILE", "LUNG_FORMAT", "LUNG_WEIGHTS_FILE", "LungModelConfig", "LungResult",
           "LungSegmenter", "lung_box", "lung_result", "read_lung_dir", "save_lung_dir"]

def save_lung_dir(directory: str | Path, model: LungUNet, config: LungModelConfig, card: str) -> LungModelConfig:
    """Weights first, then the card, then lungs.json, each atomically."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    tensors = {k: v.detach().cpu().to(torch.float16 if v.is_floating_point() else v.dtype).contiguous()
               for k, v in model.state_dict().items()}
    weights = directory / LUNG_WEIGHTS_FILE
    fd, tmp = create_temp_beside(weights)
    os.close(fd)
    try:
        save_file(tensors, tmp, metadata={"format": LUNG_FORMAT, SETTINGS_DIGEST_KEY: settings_digest(config)})
        os.chmod(tmp, 0o644)
        os.replace(tmp, weights)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    atomic_write_bytes(directory / LUNG_CARD_FILE, card.encode("utf-8"))
    files = {name: sha256_file(directory / name) for name in (LUNG_WEIGHTS_FILE, LUNG_CARD_FILE)}
    config = dataclasses.replace(config, files=files)
    atomic_write_bytes(directory / LUNG_CONFIG_FILE, config.to_json().encode("utf-8"))
    (directory / LUNG_RUNTIME_FILE).unlink(missing_ok=True)  # a graph of the weights this replaced
    return config


def read_lung_dir(directory: str | Path) -> tuple[LungModelConfig, dict[str, torch.Tensor]]:
    directory = Path(directory)
    config = verified_lung_config(directory)
    try:
        tensors = load_file(str(directory / LUNG_WEIGHTS_FILE))
    except (SafetensorError, OSError) as exc:
        raise ModelFormatError(f"{LUNG_WEIGHTS_FILE} cannot be read: {exc}") from exc
    return config, tensors


class LungSegmenter:
    def __init__(self, net: LungUNet, config: LungModelConfig, device: torch.device, weights_sha256: str) -> None:
        self.net = net.to(device).eval()
        self.config = config
        self.device = device
        self.weights_sha256 = weights_sha256

    @classmethod
    def from_dir(cls, directory: str | Path, device: str | torch.device = "cpu") -> LungSegmenter:
        config, tensors = read_lung_dir(directory)
        net = LungUNet(init=False)  # every tensor is loaded (strictly) next
        try:
            net.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in tensors.items()})
        except RuntimeError as exc:
            raise ModelFormatError(f"lung weights do not fit {config.architecture}: {exc}") from exc
        return cls(net, config, torch.device(device), config.files[LUNG_WEIGHTS_FILE])

    @torch.inference_mode()
    def probability(self, batch: np.ndarray) -> np.ndarray:
        """float32 (N, 1, S, S) model inputs -> (N, S, S) lung probabilities."""
        inputs = torch.from_numpy(np.ascontiguousarray(batch, dtype=np.float32)).to(self.device)
        return torch.sigmoid(self.net(inputs))[:, 0].float().cpu().numpy()

    def segment(self, image: LoadedImage) -> LungResult:
        pre = preprocess(image, self.config.preprocessing)
        probability = self.probability(pre.array[None])[0]
        return lung_result(probability, pre.geometry)


def lung_box(image: LoadedImage, config: PreprocessConfig,
             segmenter: LungSegmenter | None) -> tuple[int, int, int, int] | None:
    """The crop box a lung-cropping ``config`` wants for ``image`` (None: no crop by lungs)."""
    if not config.lung_crop:
        return None
    if segmenter is None:
        raise ValueError("this preprocessing crops to the lung fields, but no lung model was given")
    result = segmenter.segment(image)
    return result.box if result.found else None
