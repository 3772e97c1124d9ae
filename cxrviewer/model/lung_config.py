"""The lung model directory's settings (lungs.json) and its integrity check, without torch.

The directory layout and checks follow the classifier's (model_dir): every file's
sha256 is listed in lungs.json and verified before a tensor is used, and the
digest of the settings is stored in the weights' header, so editing a threshold by
hand makes the directory refuse to load.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .errors import ModelFileMissingError, ModelFormatError, ModelIntegrityError
from .model_files import recorded_settings_digest, settings_digest, verify_files
from .preprocess import PreprocessConfig

ENCODER_ARCH = "efficientnet_lite0"  # the U-Net encoder (lung_net.LungUNet)
LUNG_CONFIG_FILE = "lungs.json"
LUNG_WEIGHTS_FILE = "lungs.safetensors"
LUNG_RUNTIME_FILE = "lungs.onnx"  # the same network for ONNX Runtime (onnx_export.py); optional
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


def verified_lung_config(directory: Path) -> LungModelConfig:
    config, _ = verified_lung_config_and_digest(directory)
    return config


def verified_lung_config_and_digest(directory: Path) -> tuple[LungModelConfig, str]:
    """lungs.json of ``directory``, after every listed file and the settings digest were checked."""
    path = directory / LUNG_CONFIG_FILE
    if not path.is_file():
        raise ModelFileMissingError(f"{directory} has no {LUNG_CONFIG_FILE}; it is not a lung model directory")
    config = LungModelConfig.from_json(path.read_text(encoding="utf-8"))
    if LUNG_WEIGHTS_FILE not in config.files:
        raise ModelFormatError(f"{LUNG_CONFIG_FILE} records no sha256 for {LUNG_WEIGHTS_FILE}")
    verify_files(directory, config.files, LUNG_CONFIG_FILE)
    digest = settings_digest(config)
    if recorded_settings_digest(directory / LUNG_WEIGHTS_FILE) != digest:
        raise ModelIntegrityError(f"the settings in {LUNG_CONFIG_FILE} were changed after export; refusing to load it")
    return config, digest
