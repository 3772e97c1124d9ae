"""Integrity checks of model directories that need no torch (the ONNX Runtime path uses them too).

Every file a directory's JSON lists is checked against its sha256, and the digest of
the JSON's settings stored in the weights file's header is checked against the
settings, before anything in the directory is used (see model_dir.py for why).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from safetensors import SafetensorError, safe_open

from .errors import ModelFileMissingError, ModelFormatError, ModelIntegrityError

SETTINGS_DIGEST_KEY = "cxrviewer.settings_sha256"
# In an ONNX graph's metadata: the sha256 of the safetensors file it was exported from, so
# a graph from other weights (a stale export, a swapped file) is refused at load.
GRAPH_WEIGHTS_KEY = "cxrviewer.weights_sha256"
GRAPH_SETTINGS_KEY = SETTINGS_DIGEST_KEY


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def settings_digest(config) -> str:
    """sha256 of every settings field (``config.to_json()``) except the file hashes (which depend on it).

    Used for classifier (model.json) and lung model (lungs.json) directories alike.
    """
    data = json.loads(config.to_json())
    data.pop("files", None)
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), allow_nan=True)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def verify_files(directory: Path, files: dict[str, str], config_name: str) -> None:
    """Every listed file exists inside ``directory`` and has the listed sha256."""
    for name, expected in files.items():
        path = directory / name
        if Path(name).name != name:
            raise ModelFormatError(f"{config_name} lists a file outside the directory: {name!r}")
        if not path.is_file():
            raise ModelFileMissingError(f"{directory} is missing {name}")
        if sha256_file(path) != expected:
            raise ModelIntegrityError(
                f"{name} does not match the sha256 in {config_name} (file corrupted or modified); "
                "refusing to load it"
            )


def recorded_settings_digest(weights: Path) -> str | None:
    """The settings digest in a safetensors header (read without torch)."""
    try:
        with safe_open(str(weights), framework="numpy") as fh:
            return (fh.metadata() or {}).get(SETTINGS_DIGEST_KEY)
    except (SafetensorError, OSError) as exc:
        raise ModelFormatError(f"{weights.name} cannot be read: {exc}") from exc


def verified_model_config(directory: Path):
    """(ModelConfig, settings digest) of a classifier directory, after every listed file and the
    settings digest in the weights' header were checked: what both loaders (torch, ONNX Runtime) need."""
    from .config import CONFIG_FILE, WEIGHTS_FILE, ModelConfig

    config_path = directory / CONFIG_FILE
    if not directory.is_dir():
        raise ModelFileMissingError(f"model directory not found: {directory}")
    if not config_path.is_file():
        raise ModelFileMissingError(f"{directory} has no {CONFIG_FILE}; it is not a cxrviewer model directory")
    config = ModelConfig.from_json(config_path.read_text(encoding="utf-8"))
    if WEIGHTS_FILE not in config.files:
        raise ModelFormatError(f"{CONFIG_FILE} records no sha256 for {WEIGHTS_FILE}")
    verify_files(directory, config.files, CONFIG_FILE)
    digest = settings_digest(config)
    verify_settings(directory / WEIGHTS_FILE, config, CONFIG_FILE, digest)
    return config, digest


def verify_settings(weights: Path, config, config_name: str, digest: str | None = None) -> None:
    """``digest``: settings_digest(config) when the caller has it already (it costs tens of ms)."""
    recorded = recorded_settings_digest(weights)
    if recorded is None:
        raise ModelFormatError(f"{weights.name} records no digest of the {config_name} settings")
    if recorded != (digest or settings_digest(config)):
        raise ModelIntegrityError(
            f"the settings in {config_name} (temperature, OOD threshold, preprocessing, labels...) "
            f"were changed after export; refusing to load it"
        )
