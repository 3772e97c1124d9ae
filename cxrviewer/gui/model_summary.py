"""What the pane and status bar say about the model in use (a ModelInfo, plus model.json's record)."""

from __future__ import annotations

import json
import logging
from pathlib import Path

from cxrviewer.model.config import CONFIG_FILE, version_from_config

from .ai_format import label_title

log = logging.getLogger(__name__)


def model_name(info) -> str:
    return info.model_dir.name or str(info.model_dir)


def model_version(model_dir: Path) -> str:
    """A version readers can quote: the one training recorded, else the weights' hash prefix."""
    try:
        config = json.loads((Path(model_dir) / CONFIG_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        log.debug("no readable %s for the version", CONFIG_FILE)
        return "unknown"
    return version_from_config(config)


def pane_title(info, version: str) -> str:
    return f"Model: {model_name(info)} ({info.architecture}), version {version}"


def details(info, version: str) -> str:
    classes = ", ".join(label_title(label) for label in info.labels)
    return (f"{info.model_dir}\nArchitecture {info.architecture}, input {info.input_size} px, version {version}\n"
            f"Classes: {classes}\nRuns on: {info.device_name}\n"
            f"Uncertain below {100 * info.uncertain_below:.0f} %; OOD threshold {info.ood_threshold:.1f}\n"
            f"Loaded in {info.load_ms:.0f} ms")
