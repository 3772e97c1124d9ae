"""Write and read model directories: model.safetensors + model.json + MODEL_CARD.md.

Writes are atomic per file (temp file + os.replace), weights first, so a killed
export never leaves a model.json pointing at half-written weights. Reads check the
format version and the sha256 of every listed file before any tensor is used.

model.json lists the weights' sha256, so the weights cannot change unnoticed. The
settings in model.json (temperature, OOD threshold, preprocessing, labels...)
change what the viewer says just as much, so their digest is stored inside the
weights file's header: editing model.json by hand (say, raising the OOD
threshold until nothing is ever flagged) makes the directory refuse to load.
"""

from __future__ import annotations

import dataclasses
import os
import stat
from dataclasses import dataclass
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from cxrviewer.atomic_files import atomic_write_bytes, create_temp_beside

from .config import CARD_FILE, CONFIG_FILE, RUNTIME_FILE, WEIGHTS_FILE, ModelConfig
from .errors import ModelFormatError
from .model_files import SETTINGS_DIGEST_KEY, settings_digest, sha256_file, verified_model_config

__all__ = ["SETTINGS_DIGEST_KEY", "ModelDirContents", "read_model_dir", "rewrite_card", "save_model_dir",
           "settings_digest", "sha256_file"]


@dataclass(frozen=True)
class ModelDirContents:
    config: ModelConfig
    state_dict: dict[str, torch.Tensor]  # model weights only
    extra_tensors: dict[str, torch.Tensor]  # ood.* etc.


def save_model_dir(
    directory: str | Path,
    state_dict: dict[str, torch.Tensor],
    config: ModelConfig,
    extra_tensors: dict[str, torch.Tensor],
    card: str,
) -> ModelConfig:
    """Write the three files; returns the config with the file hashes filled in."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    clash = set(state_dict) & set(extra_tensors)
    if clash:
        raise ValueError(f"extra tensor names clash with model weights: {sorted(clash)}")
    tensors = {k: v.detach().cpu().contiguous() for k, v in {**state_dict, **extra_tensors}.items()}
    weights = directory / WEIGHTS_FILE
    fd, tmp = create_temp_beside(weights)
    mode = stat.S_IMODE(os.fstat(fd).st_mode)
    os.close(fd)
    try:
        metadata = {"format": "cxrviewer", SETTINGS_DIGEST_KEY: settings_digest(config)}
        save_file(tensors, tmp, metadata=metadata)
        os.chmod(tmp, mode)  # save_file recreates the file as 0600
        os.replace(tmp, weights)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    atomic_write_bytes(directory / CARD_FILE, card.encode("utf-8"))
    files = {WEIGHTS_FILE: sha256_file(weights), CARD_FILE: sha256_file(directory / CARD_FILE)}
    config = dataclasses.replace(config, files=files)
    atomic_write_bytes(directory / CONFIG_FILE, config.to_json().encode("utf-8"))
    (directory / RUNTIME_FILE).unlink(missing_ok=True)  # a graph of the weights this replaced
    return config


def read_model_dir(directory: str | Path) -> ModelDirContents:
    directory = Path(directory)
    config, _ = verified_model_config(directory)
    try:
        tensors = load_file(str(directory / WEIGHTS_FILE))
    except (SafetensorError, OSError) as exc:
        raise ModelFormatError(f"{WEIGHTS_FILE} cannot be read: {exc}") from exc
    extra_names = set(config.ood.tensors)
    missing = extra_names - set(tensors)
    if missing:
        raise ModelFormatError(f"{WEIGHTS_FILE} lacks the tensors {sorted(missing)} named in {CONFIG_FILE}")
    state = {k: v for k, v in tensors.items() if k not in extra_names}
    extra = {k: v for k, v in tensors.items() if k in extra_names}
    return ModelDirContents(config, state, extra)


def rewrite_card(directory: str | Path, card: str) -> ModelConfig:
    """Replace MODEL_CARD.md of a verified model directory and record its new sha256."""
    directory = Path(directory)
    config = read_model_dir(directory).config  # refuses a tampered directory first
    atomic_write_bytes(directory / CARD_FILE, card.encode("utf-8"))
    files = {**config.files, CARD_FILE: sha256_file(directory / CARD_FILE)}
    config = dataclasses.replace(config, files=files)
    atomic_write_bytes(directory / CONFIG_FILE, config.to_json().encode("utf-8"))
    return config
