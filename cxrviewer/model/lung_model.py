"""The lung-field segmenter: a model directory (safetensors + lungs.json + MODEL_CARD.md) and its use.

The directory layout and checks follow the classifier's (model_dir): every file's
sha256 is listed in lungs.json and verified before a tensor is used, and the
digest of the settings is stored in the weights' header, so editing a threshold by
hand makes the directory refuse to load. Weights are kept as float16 (the model is
shipped inside the app; half the size, no measurable change in the masks) and run
as float32.
"""

from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import load_file, save_file

from cxrviewer.atomic_files import atomic_write_bytes, create_temp_beside
from cxrviewer.io.image import LoadedImage

from .errors import ModelFileMissingError, ModelFormatError, ModelIntegrityError
from .lung_fields import LungFields, judge_lung_fields, mask_box
from .lung_net import ENCODER_ARCH, LungUNet
from .model_dir import SETTINGS_DIGEST_KEY, settings_digest, sha256_file
from .preprocess import Geometry, PreprocessConfig, preprocess

LUNG_CONFIG_FILE = "lungs.json"
LUNG_WEIGHTS_FILE = "lungs.safetensors"
LUNG_CARD_FILE = "MODEL_CARD.md"
LUNG_FORMAT = "cxrviewer-lungs/1"


@dataclass(frozen=True)
class LungModelConfig:
    preprocessing: PreprocessConfig
    architecture: str = f"lung_unet_{ENCODER_ARCH}"
    format: str = LUNG_FORMAT
    files: dict[str, str] = field(default_factory=dict)
    training: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> str:
        data = asdict(self)
        data["preprocessing"] = self.preprocessing.to_dict()
        return json.dumps(data, indent=2, sort_keys=True) + "\n"

    @classmethod
    def from_json(cls, text: str) -> LungModelConfig:
        try:
            data = json.loads(text)
            if data.get("format") != LUNG_FORMAT:
                raise ModelFormatError(f"{LUNG_CONFIG_FILE} has format {data.get('format')!r}, not {LUNG_FORMAT}")
            return cls(
                preprocessing=PreprocessConfig.from_dict(data["preprocessing"]),
                architecture=data["architecture"],
                files=dict(data["files"]),
                training=dict(data.get("training", {})),
            )
        except (json.JSONDecodeError, KeyError, TypeError, ValueError, AttributeError) as exc:
            raise ModelFormatError(f"{LUNG_CONFIG_FILE} is incomplete or malformed: {exc!r}") from exc


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
    return config


def read_lung_dir(directory: str | Path) -> tuple[LungModelConfig, dict[str, torch.Tensor]]:
    directory = Path(directory)
    path = directory / LUNG_CONFIG_FILE
    if not path.is_file():
        raise ModelFileMissingError(f"{directory} has no {LUNG_CONFIG_FILE}; it is not a lung model directory")
    config = LungModelConfig.from_json(path.read_text(encoding="utf-8"))
    if LUNG_WEIGHTS_FILE not in config.files:
        raise ModelFormatError(f"{LUNG_CONFIG_FILE} records no sha256 for {LUNG_WEIGHTS_FILE}")
    for name, expected in config.files.items():
        if Path(name).name != name or not (directory / name).is_file():
            raise ModelFileMissingError(f"{directory} is missing {name}")
        if sha256_file(directory / name) != expected:
            raise ModelIntegrityError(f"{name} does not match the sha256 in {LUNG_CONFIG_FILE}; refusing to load it")
    try:
        with safe_open(str(directory / LUNG_WEIGHTS_FILE), framework="pt") as fh:
            recorded = (fh.metadata() or {}).get(SETTINGS_DIGEST_KEY)
        tensors = load_file(str(directory / LUNG_WEIGHTS_FILE))
    except (SafetensorError, OSError) as exc:
        raise ModelFormatError(f"{LUNG_WEIGHTS_FILE} cannot be read: {exc}") from exc
    if recorded != settings_digest(config):
        raise ModelIntegrityError(f"the settings in {LUNG_CONFIG_FILE} were changed after export; refusing to load it")
    return config, tensors


@dataclass(frozen=True)
class LungResult:
    """Lung fields of one image, on the image's own pixel grid."""

    mask: np.ndarray  # bool (H, W), aligned with LoadedImage.pixels
    found: bool
    area_fraction: float
    confidence: float
    reason: str
    model_fields: LungFields  # the same verdict on the model input grid
    geometry: Geometry

    @property
    def box(self) -> tuple[int, int, int, int] | None:
        return mask_box(self.mask)


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


def lung_result(probability: np.ndarray, geometry: Geometry) -> LungResult:
    """Judge a model-grid probability map and carry the kept fields back to the source image."""
    content = np.zeros(probability.shape, dtype=bool)
    x0, y0, x1, y1 = geometry.content_box
    content[y0:y1, x0:x1] = True
    fields = judge_lung_fields(probability, content)
    full = geometry.mask_to_source(fields.mask)
    return LungResult(
        mask=full,
        found=fields.found,
        area_fraction=fields.area_fraction,
        confidence=fields.confidence,
        reason=fields.reason,
        model_fields=fields,
        geometry=geometry,
    )


def lung_box(image: LoadedImage, config: PreprocessConfig,
             segmenter: LungSegmenter | None) -> tuple[int, int, int, int] | None:
    """The crop box a lung-cropping ``config`` wants for ``image`` (None: no crop by lungs)."""
    if not config.lung_crop:
        return None
    if segmenter is None:
        raise ValueError("this preprocessing crops to the lung fields, but no lung model was given")
    result = segmenter.segment(image)
    return result.box if result.found else None
