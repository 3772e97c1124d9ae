"""model.json as a dataclass: everything needed to use the weights travels with them."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

from .errors import ModelFormatError
from .preprocess import PreprocessConfig

FORMAT_VERSION = 1
WEIGHTS_FILE = "model.safetensors"
CONFIG_FILE = "model.json"
CARD_FILE = "MODEL_CARD.md"
# The same classifier as an ONNX graph for ONNX Runtime (onnx_export.py); optional, listed in files when present.
RUNTIME_FILE = "model.onnx"


@dataclass(frozen=True)
class OODConfig:
    method: str = "mahalanobis"
    threshold: float = float("inf")
    feature_dim: int = 0
    layer: str = ""  # stage whose per-channel mean and std form the descriptor ("" = the model's default)
    pooling: str = "mean_std"
    # Large arrays (class means, precision) live in model.safetensors under these names.
    tensors: tuple[str, ...] = ("ood.class_means", "ood.precision")


@dataclass(frozen=True)
class ModelConfig:
    labels: tuple[str, ...]
    architecture: str
    preprocessing: PreprocessConfig
    cam_target_layer: str
    temperature: float = 1.0
    ood: OODConfig = field(default_factory=OODConfig)
    normalization: dict[str, Any] = field(default_factory=dict)  # adapter mean/std, for the record
    files: dict[str, str] = field(default_factory=dict)  # file name -> sha256
    training: dict[str, Any] = field(default_factory=dict)  # manifest sha256, git commit, command, metrics
    format_version: int = FORMAT_VERSION

    @property
    def input_size(self) -> int:
        return self.preprocessing.input_size

    def to_json(self) -> str:
        data = asdict(self)
        data["preprocessing"] = self.preprocessing.to_dict()
        data["input_size"] = self.input_size
        return json.dumps(data, indent=2, sort_keys=True, allow_nan=True) + "\n"

    @classmethod
    def from_json(cls, text: str) -> ModelConfig:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ModelFormatError(f"{CONFIG_FILE} is not valid JSON ({exc})") from exc
        if not isinstance(data, dict):
            raise ModelFormatError(f"{CONFIG_FILE} must hold a JSON object")
        version = data.get("format_version")
        if version != FORMAT_VERSION:
            raise ModelFormatError(
                f"{CONFIG_FILE} has format version {version!r}; this cxrviewer reads version {FORMAT_VERSION}"
            )
        try:
            return cls(
                labels=tuple(data["labels"]),
                architecture=data["architecture"],
                preprocessing=PreprocessConfig.from_dict(data["preprocessing"]),
                cam_target_layer=data["cam_target_layer"],
                temperature=float(data["temperature"]),
                ood=OODConfig(**{**data["ood"], "tensors": tuple(data["ood"]["tensors"])}),
                normalization=dict(data.get("normalization", {})),
                files=dict(data["files"]),
                training=dict(data.get("training", {})),
                format_version=version,
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelFormatError(f"{CONFIG_FILE} is incomplete or malformed: {exc!r}") from exc


def version_from_config(config: dict) -> str:
    """A model's quotable version from its model.json contents: training's version, else its
    git commit, else the weights' hash prefix. The one rule for the results pane and the PACS SR."""
    training = config.get("training") or {}
    for key in ("version", "model_version"):
        if training.get(key):
            return str(training[key])
    if training.get("git_commit"):
        return f"git {str(training['git_commit'])[:8]}"
    digest = (config.get("files") or {}).get(WEIGHTS_FILE, "")
    return f"weights {digest[:12]}" if digest else "unknown"
